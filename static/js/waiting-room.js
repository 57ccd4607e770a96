// 候考: count down to the batch's start by the server's figure (the device's own clock
// may be wrong), then open the paper at a random moment within the spread, so a whole
// batch does not arrive in the same second. The page asks the server nothing until then.
(() => {
  const room = document.querySelector("[data-waiting-room]");
  if (!room) return;
  const countdown = room.querySelector("[data-countdown]");
  const status = room.querySelector("[data-waiting-status]");
  const form = room.querySelector("[data-start-form]");
  const opensAt = Date.now() + Number(room.dataset.opensIn) * 1000;
  const spread = Number(room.dataset.spread) * 1000;
  const startAt = opensAt + Math.random() * spread;

  const clockText = (ms) => {
    const seconds = Math.max(0, Math.ceil(ms / 1000));
    const minutes = Math.floor(seconds / 60);
    return `${minutes}:${String(seconds % 60).padStart(2, "0")}`;
  };

  const showButton = (message) => {
    status.textContent = message;
    form.hidden = false;
  };

  const start = async () => {
    status.textContent = "正在打开试卷……";
    let response;
    try {
      response = await fetch(room.dataset.startUrl, {
        method: "POST",
        body: new FormData(form),
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
    } catch {
      status.textContent = "网络连接中断，5 秒后自动重试……";
      setTimeout(start, 5000);
      return;
    }
    const body = await response.json().catch(() => null);
    if (response.ok && body && body.url) {
      window.location.assign(body.url);
      return;
    }
    const retryAfter = Number(response.headers.get("Retry-After"));
    if (retryAfter > 0) {
      // Not open yet by the server's clock, or the server asks for a moment: as it says.
      const wait = retryAfter * 1000 + Math.random() * 2000;
      status.textContent =
        response.status === 409 ? "考试即将开始，请稍候……" : `服务器繁忙，${Math.ceil(wait / 1000)} 秒后自动重试……`;
      setTimeout(start, wait);
      return;
    }
    showButton(body && body.message ? body.message : "未能自动打开试卷，请点击下面的按钮或刷新本页。");
  };

  // A timer of its own for the start, so that starts spread over the whole window
  // rather than bunching on the countdown's second ticks; the tick catches a device that
  // slept through it.
  let started = false;
  const startOnce = () => {
    if (!started) {
      started = true;
      start();
    }
  };
  setTimeout(startOnce, startAt - Date.now());

  const tick = () => {
    const left = opensAt - Date.now();
    countdown.textContent = clockText(left);
    if (Date.now() >= startAt) {
      startOnce();
      return;
    }
    if (left <= 0) status.textContent = "考试已开始，正在为您排队打开试卷……";
    setTimeout(tick, 1000 - (Date.now() % 1000) + 5);
  };
  tick();
})();
