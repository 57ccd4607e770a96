// The exam page. Loads the paper as JSON, saves every answer at once in the background,
// keeps unsent answers in localStorage (offline, reload, crash), follows the server's
// clock and submits at the deadline. The page passes its URLs as data attributes: the
// Content-Security-Policy allows no inline script.
(() => {
  "use strict";

  const root = document.getElementById("exam");
  if (!root) {
    return;
  }

  const urls = {
    paper: root.dataset.paperUrl,
    save: root.dataset.saveUrl,
    submit: root.dataset.submitUrl,
    flags: root.dataset.flagsUrl,
    worker: root.dataset.workerUrl,
    result: root.dataset.resultUrl,
    login: root.dataset.loginUrl,
  };
  const RETRY_MS = 5000; // resend queued answers this often while any wait
  const REFRESH_MS = 180000; // re-read the deadline (extensions) and other tabs' answers
  const TYPING_MS = 800; // a blank is saved this long after the last keystroke
  const LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  const STATE_COLOURS = ["success", "secondary", "danger"];
  // Machine codes of the server's JSON errors ({"error": code, "message": 中文}).
  const LOGIN_LOST = new Set(["login_required", "session_expired", "password_change_required"]);
  // Answers the server can never take (a 400 or 413 for this answer): dropped from the queue.
  const UNSAVABLE = new Set(["invalid_answer", "choice_out_of_range", "repeated_choice", "too_large"]);

  const el = {
    questions: root.querySelector("[data-questions]"),
    nav: root.querySelector("[data-nav]"),
    navPanel: root.querySelector("#exam-nav"),
    navToggle: root.querySelector("[data-toggle-nav]"),
    progress: root.querySelector("[data-progress]"),
    timer: root.querySelector("[data-timer]"),
    state: root.querySelector("[data-save-state]"),
    message: root.querySelector("[data-message]"),
    keptBanner: root.querySelector("[data-kept-banner]"),
    submits: root.querySelectorAll("[data-submit]"),
  };

  let items = []; // the paper's items, in order
  const byId = new Map(); // item id (string) -> item
  const answers = new Map(); // item id -> {answer, seq}: what this page shows
  let csrfToken = "";
  let clockOffset = 0; // server clock minus this browser's clock, in ms
  let deadline = 0; // server epoch ms
  let highestServerSeq = 0;
  let offline = !navigator.onLine;
  let serverDown = false; // the server answers but cannot reach its database (503)
  let submitWaiting = false; // a submit (at the deadline) waits for the network or server
  let loginLost = false;
  let closed = false; // submitted or refused: nothing more is sent
  let timeIsUp = false;
  let flushing = null;
  const typingTimers = new Map();

  // --- local storage: per attempt, shared by this browser's tabs ----------------------

  const storeKey = (name) => `exam:${root.dataset.attemptId}:${name}`;

  function readJSON(name, fallback) {
    try {
      const raw = window.localStorage.getItem(storeKey(name));
      return raw ? JSON.parse(raw) : fallback;
    } catch {
      return fallback;
    }
  }

  function writeJSON(name, value) {
    try {
      window.localStorage.setItem(storeKey(name), JSON.stringify(value));
    } catch {
      // Storage blocked or full: answers are still sent, only not kept across reloads.
    }
  }

  function forgetAttempt() {
    for (const name of ["queue", "seq", "flags", "flagsUnsent", "saved", "clock"]) {
      try {
        window.localStorage.removeItem(storeKey(name));
      } catch {
        // nothing to clean up
      }
    }
  }

  const serverNow = () => Math.floor(Date.now() + clockOffset);

  // Sequence numbers grow across reloads and tabs (the counter lives in localStorage) and
  // follow the server's clock, so the newest answer wins even between two devices.
  function nextSeq() {
    const last = Number(readJSON("seq", 0)) || 0;
    const seq = Math.max(last + 1, serverNow(), highestServerSeq + 1);
    writeJSON("seq", seq);
    return seq;
  }

  function queued() {
    return readJSON("queue", {});
  }

  function dropFromQueue(itemId, seq) {
    const queue = queued();
    if (queue[itemId] && queue[itemId].seq <= seq) {
      delete queue[itemId];
      writeJSON("queue", queue);
    }
  }

  // What the server acknowledged, kept too: a reload from the device's copy of the page
  // (offline) then shows every answer, not only the unsent ones.
  function rememberSaved(itemId, entry) {
    const saved = readJSON("saved", {});
    if (!saved[itemId] || saved[itemId].seq < entry.seq) {
      saved[itemId] = entry;
      writeJSON("saved", saved);
    }
  }

  // --- messages and state -------------------------------------------------------------

  function showMessage(text, kind = "warning", link = null) {
    el.message.className = `alert alert-${kind}`;
    el.message.textContent = text;
    if (link) {
      const anchor = document.createElement("a");
      anchor.href = link.href;
      anchor.className = "alert-link ms-2";
      anchor.textContent = link.text;
      el.message.append(anchor);
    }
  }

  function hideMessage() {
    el.message.className = "alert d-none";
    el.message.textContent = "";
  }

  function showState() {
    const waiting = Object.keys(queued()).length > 0;
    let text = "已保存";
    let kind = "success";
    if (closed) {
      text = "已交卷";
      kind = "secondary";
    } else if (waiting && (offline || !navigator.onLine)) {
      text = "离线，答案暂存本机";
      kind = "danger";
    } else if (waiting && serverDown) {
      text = "服务器暂不可用，答案暂存本机";
      kind = "danger";
    } else if (waiting && loginLost) {
      text = "未保存，请重新登录";
      kind = "danger";
    } else if (waiting || flushing) {
      text = "保存中";
      kind = "secondary";
    }
    el.state.textContent = text;
    const kept = !closed && (waiting || submitWaiting) && (offline || serverDown || !navigator.onLine);
    el.keptBanner.classList.toggle("d-none", !kept);
    el.state.classList.remove(...STATE_COLOURS.map((colour) => `text-bg-${colour}`));
    el.state.classList.add(`text-bg-${kind}`);
  }

  function formatLeft(ms) {
    const total = Math.ceil(ms / 1000);
    const hours = Math.floor(total / 3600);
    const minutes = Math.floor((total % 3600) / 60);
    const seconds = total % 60;
    const pad = (n) => String(n).padStart(2, "0");
    return hours ? `${hours}:${pad(minutes)}:${pad(seconds)}` : `${pad(minutes)}:${pad(seconds)}`;
  }

  function tick() {
    if (!deadline || closed) {
      return;
    }
    const left = Math.max(0, deadline - serverNow());
    el.timer.textContent = `剩余 ${formatLeft(left)}`;
    el.timer.classList.toggle("text-danger", left <= 5 * 60 * 1000);
    if (left <= 0 && !timeIsUp) {
      timeUp();
    }
  }

  // --- the server ---------------------------------------------------------------------

  function jsonHeaders() {
    return {
      "Content-Type": "application/json",
      Accept: "application/json",
      "X-CSRFToken": csrfToken,
    };
  }

  async function readBody(response) {
    try {
      return await response.json();
    } catch {
      return {};
    }
  }

  function loginExpired(data) {
    loginLost = true;
    showMessage(
      `${data.message || "登录已失效"}。未保存的答案暂存在本机，重新登录后回到本页即可继续提交。`,
      "danger",
      { href: urls.login, text: "重新登录" },
    );
    showState();
  }

  async function loadPaper() {
    const sent = Date.now();
    const response = await fetch(urls.paper, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
      cache: "no-store",
    });
    const data = await readBody(response);
    if (LOGIN_LOST.has(data.error)) {
      loginExpired(data);
      throw new Error("login");
    }
    if (!response.ok) {
      throw new Error(data.message || `HTTP ${response.status}`);
    }
    data.fromCopy = response.headers.get("X-Exam-Offline-Copy") === "1";
    if (data.fromCopy) {
      // The device's copy (service worker): the server was not reached, and the clock
      // reading in the copy is old, so keep the offset measured when it was fresh.
      offline = !navigator.onLine;
      serverDown = navigator.onLine;
      clockOffset = Number(readJSON("clock", 0)) || 0;
      deadline = deadline || data.deadline;
    } else {
      loginLost = false;
      serverDown = false;
      // The request took some time each way: take the server's clock as read halfway.
      clockOffset = data.server_now - (sent + Date.now()) / 2;
      writeJSON("clock", clockOffset);
      deadline = data.deadline;
      keepPaperCopy(data);
    }
    csrfToken = data.csrf_token;
    if (data.result_url) {
      urls.result = data.result_url;
    }
    if (data.status !== "in_progress") {
      finish(urls.result);
    }
    return data;
  }

  // Send queued answers one at a time until none is left; true when all were saved.
  function flush() {
    if (!flushing) {
      flushing = drain().finally(() => {
        flushing = null;
        showState();
      });
      showState();
    }
    return flushing;
  }

  async function drain() {
    let tokenRenewed = false;
    for (;;) {
      if (closed) {
        return false;
      }
      const queue = queued();
      const itemId = Object.keys(queue)[0];
      if (itemId === undefined) {
        return true;
      }
      if (!byId.has(itemId)) {
        dropFromQueue(itemId, Infinity);
        continue;
      }
      const entry = queue[itemId];
      if (!navigator.onLine) {
        offline = true; // the browser knows it has no network: wait for "online"
        return false;
      }
      let response;
      try {
        response = await fetch(urls.save, {
          method: "POST",
          headers: jsonHeaders(),
          credentials: "same-origin",
          body: JSON.stringify({ item_id: Number(itemId), answer: entry.answer, seq: entry.seq }),
        });
      } catch {
        offline = true; // no answer at all: the network is down
        return false;
      }
      offline = false;
      const data = await readBody(response);
      if (response.ok) {
        loginLost = false;
        serverDown = false;
        rememberSaved(itemId, entry);
        acknowledge(itemId, entry.seq, data);
        continue;
      }
      if (data.error === "closed") {
        close(data.message || "本次作答已结束。", data.result_url);
        return false;
      }
      if (UNSAVABLE.has(data.error)) {
        dropFromQueue(itemId, entry.seq); // it can never be saved; keep the others going
        showMessage(`第 ${byId.get(itemId).position} 题未能保存：${data.message}`, "danger");
        continue;
      }
      if (data.error === "csrf_failed" && !tokenRenewed) {
        tokenRenewed = true; // the CSRF token is stale (a new login): fetch a fresh one
        try {
          await loadPaper();
        } catch {
          return false;
        }
        continue;
      }
      if (LOGIN_LOST.has(data.error)) {
        loginExpired(data);
        return false;
      }
      if (data.error === "not_found") {
        close("答卷不存在。", urls.result);
        return false;
      }
      // Busy or failing server ("database_unavailable" while its database is down): the
      // answer stays on this device and the periodic retry sends it again.
      serverDown = response.status >= 500;
      return false;
    }
  }

  function acknowledge(itemId, seq, data) {
    dropFromQueue(itemId, seq);
    updateNav(byId.get(itemId));
    highestServerSeq = Math.max(highestServerSeq, data.seq || 0);
    if (typeof data.remaining_seconds === "number") {
      const reported = serverNow() + data.remaining_seconds * 1000;
      if (Math.abs(reported - deadline) > 2000) {
        deadline = reported; // an extension, or a clock that drifted
      }
    }
    if (data.seq > seq) {
      refresh(); // another tab saved a newer answer to this question: show it
    }
  }

  async function submitAttempt() {
    let response;
    try {
      if (!navigator.onLine) {
        throw new Error("offline");
      }
      response = await fetch(urls.submit, {
        method: "POST",
        headers: jsonHeaders(),
        credentials: "same-origin",
        body: "{}",
      });
    } catch {
      offline = true;
      submitWaiting = true;
      showMessage("网络中断，恢复联网后将自动交卷。", "danger");
      showState();
      return false;
    }
    const data = await readBody(response);
    if (response.status >= 500) {
      serverDown = true;
      submitWaiting = true;
      showMessage("服务器暂时无法交卷，答案已保存在本设备上，恢复后将自动交卷。", "danger");
      showState();
      return false;
    }
    submitWaiting = false;
    if (response.ok || data.error === "closed" || data.error === "not_found") {
      finish(data.result_url || urls.result);
      return true;
    }
    if (LOGIN_LOST.has(data.error)) {
      loginExpired(data);
    } else {
      showMessage(data.message || "交卷未成功，请稍后再试。", "danger");
    }
    return false;
  }

  // --- closing ------------------------------------------------------------------------

  function lockInputs() {
    root.querySelectorAll("input, [data-flag]").forEach((input) => {
      input.disabled = true;
    });
    el.submits.forEach((button) => {
      button.disabled = true;
    });
  }

  function unlockInputs() {
    root.querySelectorAll("input, [data-flag]").forEach((input) => {
      input.disabled = false;
    });
    el.submits.forEach((button) => {
      button.disabled = false;
    });
  }

  function finish(resultUrl) {
    closed = true;
    forgetAttempt();
    lockInputs();
    forgetCopies().finally(() => window.location.assign(resultUrl || urls.result));
  }

  // Refused (submitted, or too late): the answers not sent stay on this device, so that
  // they go out if an administrator reopens the attempt (after a server outage).
  function close(message, resultUrl) {
    closed = true;
    forgetCopies();
    lockInputs();
    showState();
    showMessage(`${message} 即将转到结果页面……`, "warning", {
      href: resultUrl || urls.result,
      text: "立即查看",
    });
    window.setTimeout(() => window.location.assign(resultUrl || urls.result), 3000);
  }

  async function timeUp() {
    timeIsUp = true;
    // An administrator may have extended the time, or the server moved the deadline for
    // an outage: ask the server before closing (the device's copy does not count).
    try {
      const paper = await loadPaper();
      if (closed) {
        return;
      }
      if (!paper.fromCopy && deadline - serverNow() > 1000) {
        timeIsUp = false;
        submitWaiting = false;
        unlockInputs();
        hideMessage();
        showState();
        return;
      }
    } catch {
      // offline: close with what can be sent
    }
    lockInputs();
    showMessage("考试时间到，正在提交已作答的内容……", "warning");
    await flush();
    if (!closed) {
      await submitAttempt();
    }
  }

  // --- flags, kept with the attempt on the server ------------------------------------

  // The server's flags, unless this device changed its own and has not sent them yet.
  function adoptFlags(paper) {
    if (paper.fromCopy) {
      return;
    }
    if (readJSON("flagsUnsent", false)) {
      sendFlags();
    } else {
      writeJSON("flags", (paper.flags || []).map(String));
    }
  }

  let flagsSending = null;

  function sendFlags() {
    writeJSON("flagsUnsent", true);
    if (!flagsSending) {
      flagsSending = postFlags().finally(() => {
        flagsSending = null;
      });
    }
    return flagsSending;
  }

  // One request at a time, the whole set each time, until the server holds the newest.
  async function postFlags() {
    while (!closed && navigator.onLine && readJSON("flagsUnsent", false)) {
      const sent = JSON.stringify(Array.from(flags(), Number).sort((a, b) => a - b));
      try {
        const response = await fetch(urls.flags, {
          method: "POST",
          headers: jsonHeaders(),
          credentials: "same-origin",
          body: `{"flags": ${sent}}`,
        });
        if (!response.ok) {
          return; // offline, logged out or server down: the periodic retry sends them
        }
      } catch {
        return;
      }
      const now = JSON.stringify(Array.from(flags(), Number).sort((a, b) => a - b));
      if (now === sent) {
        writeJSON("flagsUnsent", false);
      }
    }
  }

  // --- the device's copy of the page (service worker, exam-sw.js) -----------------------

  const COPIES = "exam-pages"; // the service worker's cache

  function keepOfflineCopy() {
    if (!("serviceWorker" in navigator) || !window.caches || !urls.worker) {
      return; // an insecure origin (plain http on the intranet): no offline reload
    }
    const firstVisit = !navigator.serviceWorker.controller;
    navigator.serviceWorker
      .register(urls.worker)
      .then(() => {
        if (!firstVisit) {
          return null; // the worker already keeps the page and its files as they load
        }
        const files = Array.from(
          document.querySelectorAll("link[rel~='stylesheet'][href], link[rel~='icon'][href], script[src]"),
          (node) => node.href || node.src,
        );
        return caches.open(COPIES).then((cache) => cache.addAll([window.location.href, ...files]));
      })
      .catch(() => {
        // no copy on this device: a reload needs the network, nothing else changes
      });
  }

  function keepPaperCopy(paper) {
    if (!window.caches) {
      return;
    }
    const body = JSON.stringify({ ...paper, fromCopy: undefined });
    caches
      .open(COPIES)
      .then((cache) =>
        cache.put(urls.paper, new Response(body, { headers: { "Content-Type": "application/json" } })),
      )
      .catch(() => {});
  }

  function forgetCopies() {
    if (!window.caches) {
      return Promise.resolve();
    }
    return caches
      .open(COPIES)
      .then((cache) => Promise.all([cache.delete(window.location.href), cache.delete(urls.paper)]))
      .catch(() => {});
  }

  // --- the paper on the page ----------------------------------------------------------

  function isAnswered(item, answer) {
    if (!answer || !answer.length) {
      return false;
    }
    if (item.input === "text") {
      return answer.some((text) => typeof text === "string" && text.trim() !== "");
    }
    return true;
  }

  function readInputs(item) {
    const section = item.section;
    if (item.input === "text") {
      return Array.from(section.querySelectorAll("[data-blank]"), (input) => input.value);
    }
    return Array.from(section.querySelectorAll("input:checked"), (input) => Number(input.value)).sort(
      (a, b) => a - b,
    );
  }

  function showAnswer(item, answer) {
    const section = item.section;
    if (item.input === "text") {
      section.querySelectorAll("[data-blank]").forEach((input, index) => {
        if (input !== document.activeElement) {
          input.value = typeof answer[index] === "string" ? answer[index] : "";
          if (item.counter) {
            item.counter.textContent = `${input.value.length} / ${item.max_chars} 字`;
          }
        }
      });
    } else {
      const chosen = new Set(answer);
      section.querySelectorAll("input").forEach((input) => {
        input.checked = chosen.has(Number(input.value));
      });
    }
    updateNav(item);
  }

  function flags() {
    return new Set(readJSON("flags", []));
  }

  function updateNav(item) {
    const entry = answers.get(String(item.item_id));
    const answered = isAnswered(item, entry && entry.answer);
    const flagged = flags().has(String(item.item_id));
    // Answered here but not yet acknowledged by the server: shown apart from saved ones.
    const waiting = answered && Boolean(queued()[String(item.item_id)]);
    item.navButton.classList.toggle("btn-primary", answered && !waiting);
    item.navButton.classList.toggle("exam-queued", waiting);
    item.navButton.classList.toggle("btn-outline-secondary", !answered);
    item.navButton.classList.toggle("exam-flagged", flagged);
    const answeredText = waiting ? "已答，待发送" : "已答";
    const state = [answered ? answeredText : "未答", flagged ? "已标记" : ""]
      .filter(Boolean)
      .join("，");
    item.navButton.setAttribute("aria-label", `第 ${item.position} 题，${state}`);
    item.flagButton.setAttribute("aria-pressed", String(flagged));
    item.flagButton.classList.toggle("active", flagged);
    item.flagButton.textContent = flagged ? "取消标记" : "标记";
    item.section.classList.toggle("exam-question-flagged", flagged);
    const done = items.filter((one) => {
      const own = answers.get(String(one.item_id));
      return isAnswered(one, own && own.answer);
    }).length;
    el.progress.textContent = `已答 ${done} / ${items.length}`;
  }

  function record(item) {
    if (closed || timeIsUp) {
      return;
    }
    const itemId = String(item.item_id);
    const answer = readInputs(item);
    const current = answers.get(itemId);
    if (current && JSON.stringify(current.answer) === JSON.stringify(answer)) {
      return;
    }
    const entry = { answer, seq: nextSeq() };
    answers.set(itemId, entry);
    const queue = queued();
    queue[itemId] = entry;
    writeJSON("queue", queue);
    updateNav(item);
    flush();
  }

  function make(tag, className, text) {
    const node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  function renderItem(item) {
    const itemId = String(item.item_id);
    const section = make("section", "card mb-3 exam-question");
    section.id = `q-${item.position}`;
    section.tabIndex = -1;
    section.dataset.itemId = itemId;
    section.dataset.type = item.type;
    const body = make("div", "card-body");
    const head = make("div", "d-flex justify-content-between align-items-start gap-2 mb-2");
    const title = make("h2", "h6 mb-0");
    title.append(
      make("span", "exam-number", `第 ${item.position} 题`),
      " ",
      make("span", "badge text-bg-light border", item.type_label),
      " ",
      make("span", "small text-muted fw-normal", `${item.points} 分`),
    );
    const flag = make("button", "btn btn-sm btn-outline-warning exam-flag", "标记");
    flag.type = "button";
    flag.dataset.flag = itemId;
    flag.setAttribute("aria-pressed", "false");
    head.append(title, flag);
    const stem = make("p", "pre-wrap exam-stem", item.stem);
    stem.id = `q-${item.position}-stem`;
    body.append(head, stem);

    const group = make("div", "exam-answers");
    group.setAttribute("role", item.input === "checkbox" ? "group" : "radiogroup");
    group.setAttribute("aria-labelledby", stem.id);
    if (item.input === "text" && item.multiline) {
      // A written answer: one box, its length counted as the candidate types.
      const row = make("div", "exam-written mb-2");
      const input = make("textarea", "form-control");
      input.id = `item-${itemId}-text`;
      input.rows = 8;
      input.maxLength = item.max_chars;
      input.dataset.blank = "0";
      input.setAttribute("aria-labelledby", `q-${item.position}-stem`);
      const count = make("div", "form-text text-end exam-count", `0 / ${item.max_chars} 字`);
      input.addEventListener("input", () => {
        count.textContent = `${input.value.length} / ${item.max_chars} 字`;
      });
      item.counter = count;
      row.append(input, count);
      group.append(row);
    } else if (item.input === "text") {
      for (let blank = 0; blank < item.blanks; blank += 1) {
        const row = make("div", "exam-blank mb-2");
        const input = make("input", "form-control");
        input.type = "text";
        input.id = `item-${itemId}-blank-${blank}`;
        input.maxLength = item.max_chars;
        input.autocomplete = "off";
        input.dataset.blank = String(blank);
        const label = make("label", "form-label small mb-1", `第 ${blank + 1} 空`);
        label.htmlFor = input.id;
        row.append(label, input);
        group.append(row);
      }
    } else {
      const kind = item.input; // "radio" or "checkbox"
      item.choices.forEach((choice, shown) => {
        const row = make("div", "form-check exam-choice");
        const input = make("input", "form-check-input");
        input.type = kind;
        input.name = `item-${itemId}`;
        input.id = `item-${itemId}-choice-${shown}`;
        input.value = String(choice.value);
        const label = make("label", "form-check-label");
        label.htmlFor = input.id;
        label.append(make("span", "exam-letter", `${LETTERS[shown]}.`), " ", choice.text);
        row.append(input, label);
        group.append(row);
      });
    }
    body.append(group);
    section.append(body);
    item.section = section;
    item.flagButton = flag;

    const navButton = make("button", "btn btn-sm btn-outline-secondary", String(item.position));
    navButton.type = "button";
    navButton.dataset.goto = String(item.position);
    item.navButton = navButton;
    return section;
  }

  // A case's material above its sub-questions: open, and on a phone folded away with a tap
  // on its title (on a wide screen it stays in view while its sub-questions scroll).
  function renderCase(material, number) {
    const group = make("div", "exam-case mb-3");
    const details = make("details", "card exam-material mb-2");
    details.open = true;
    const summary = make("summary", "card-header fw-semibold", `案例${number}：${material.title}`);
    const body = make("div", "card-body");
    body.append(make("p", "pre-wrap mb-2", material.material));
    if (material.table && material.table.length) {
      const box = make("div", "table-responsive");
      const table = make("table", "table table-sm table-bordered mb-0");
      const head = make("thead");
      const headRow = make("tr");
      material.table[0].forEach((cell) => headRow.append(make("th", "", cell)));
      head.append(headRow);
      const rows = make("tbody");
      material.table.slice(1).forEach((cells) => {
        const row = make("tr");
        cells.forEach((cell) => row.append(make("td", "", cell)));
        rows.append(row);
      });
      table.append(head, rows);
      box.append(table);
      body.append(box);
    }
    details.append(summary, body);
    group.append(details);
    return group;
  }

  function render(paper) {
    items = paper.items;
    const cases = paper.cases || {};
    const sections = [];
    const buttons = [];
    let group = null;
    let navGroup = null;
    let number = 0;
    items.forEach((item, index) => {
      const section = renderItem(item);
      if (!item.case) {
        sections.push(section);
        buttons.push(item.navButton);
        return;
      }
      if (index === 0 || items[index - 1].case !== item.case) {
        number += 1;
        group = renderCase(cases[String(item.case)], number);
        sections.push(group);
        navGroup = make("div", "exam-nav-case");
        navGroup.append(make("div", "exam-nav-case-label small text-muted", `案例${number}`));
        buttons.push(navGroup);
      }
      group.append(section);
      navGroup.append(item.navButton);
    });
    el.questions.replaceChildren(...sections);
    el.nav.replaceChildren(...buttons);
    items.forEach((item) => byId.set(String(item.item_id), item));
  }

  // Server responses merged with this browser's unsent answers: the newest seq wins.
  function merge(responses) {
    const queue = queued();
    const saved = readJSON("saved", {});
    let pruned = false;
    for (const item of items) {
      const itemId = String(item.item_id);
      const server = responses[itemId];
      const local = queue[itemId];
      const shown = answers.get(itemId);
      if (server) {
        highestServerSeq = Math.max(highestServerSeq, server.seq);
      }
      let newest = shown;
      for (const candidate of [server, local, saved[itemId]]) {
        if (candidate && (!newest || candidate.seq > newest.seq)) {
          newest = candidate;
        }
      }
      if (local && server && server.seq >= local.seq) {
        delete queue[itemId]; // the server already holds it, or something newer
        pruned = true;
      }
      if (newest && newest !== shown) {
        answers.set(itemId, newest);
        showAnswer(item, newest.answer);
      } else {
        updateNav(item);
      }
    }
    if (pruned) {
      writeJSON("queue", queue);
    }
  }

  async function refresh() {
    if (closed) {
      return;
    }
    try {
      const paper = await loadPaper();
      if (!closed) {
        adoptFlags(paper);
        merge(paper.responses);
        tick();
      }
    } catch {
      // offline or logged out: try again at the next refresh
    }
  }

  // --- events -------------------------------------------------------------------------

  function itemOf(target) {
    const section = target.closest("[data-item-id]");
    return section ? byId.get(section.dataset.itemId) : null;
  }

  el.questions.addEventListener("change", (event) => {
    const item = itemOf(event.target);
    if (item) {
      window.clearTimeout(typingTimers.get(item.item_id));
      record(item);
    }
  });

  el.questions.addEventListener("input", (event) => {
    const item = itemOf(event.target);
    if (item && item.input === "text") {
      window.clearTimeout(typingTimers.get(item.item_id));
      typingTimers.set(
        item.item_id,
        window.setTimeout(() => record(item), TYPING_MS),
      );
    }
  });

  el.questions.addEventListener("click", (event) => {
    const button = event.target.closest("[data-flag]");
    if (!button) {
      return;
    }
    const marked = flags();
    if (marked.has(button.dataset.flag)) {
      marked.delete(button.dataset.flag);
    } else {
      marked.add(button.dataset.flag);
    }
    writeJSON("flags", Array.from(marked));
    updateNav(byId.get(button.dataset.flag));
    sendFlags();
  });

  el.nav.addEventListener("click", (event) => {
    const button = event.target.closest("[data-goto]");
    if (!button) {
      return;
    }
    const section = document.getElementById(`q-${button.dataset.goto}`);
    section.scrollIntoView({ behavior: "smooth", block: "start" });
    // The question itself takes the focus: a focus ring on its first choice looked like a
    // chosen answer. Tab goes on to the choices.
    section.focus({ preventScroll: true });
    if (el.navToggle && window.getComputedStyle(el.navToggle).display !== "none") {
      toggleNav(false);
    }
  });

  function toggleNav(show) {
    if (show) {
      // Open just below the sticky bar, wherever the page is scrolled to.
      const bar = root.querySelector("[data-bar]").getBoundingClientRect();
      el.navPanel.style.top = `${Math.max(bar.bottom, 0) + 8}px`;
    }
    el.navPanel.classList.toggle("d-none", !show);
    el.navToggle.setAttribute("aria-expanded", String(show));
  }

  if (el.navToggle) {
    el.navToggle.addEventListener("click", () => {
      toggleNav(el.navPanel.classList.contains("d-none"));
    });
  }

  function unansweredNumbers() {
    return items
      .filter((item) => {
        const entry = answers.get(String(item.item_id));
        return !isAnswered(item, entry && entry.answer);
      })
      .map((item) => item.position);
  }

  async function onSubmit() {
    // A blank still being typed counts as what is on the screen now.
    items.filter((item) => item.input === "text").forEach(record);
    const missing = unansweredNumbers();
    let question = "已全部作答。";
    if (missing.length) {
      const shown = missing.slice(0, 30).join("、");
      const more = missing.length > 30 ? ` 等 ${missing.length} 题` : "";
      question = `还有第 ${shown}${more} 题未作答。`;
    }
    if (!window.confirm(`${question}\n确定交卷吗？交卷后不能再修改答案。`)) {
      return;
    }
    el.submits.forEach((button) => {
      button.disabled = true;
    });
    const saved = await flush();
    if (closed) {
      return;
    }
    if (!saved) {
      showMessage("还有答案没有送达服务器（网络中断或登录失效），恢复后请再交卷。", "danger");
      el.submits.forEach((button) => {
        button.disabled = false;
      });
      return;
    }
    await submitAttempt();
  }

  el.submits.forEach((button) => button.addEventListener("click", onSubmit));

  window.addEventListener("online", () => {
    offline = false;
    hideMessage();
    flush().then((saved) => {
      if (saved && timeIsUp && !closed) {
        timeUp();
      }
    });
  });

  // Another tab of this attempt answered: show its answer here at once.
  window.addEventListener("storage", (event) => {
    if (event.key === storeKey("queue") && items.length && !closed) {
      merge({});
    }
  });

  window.addEventListener("offline", () => {
    offline = true;
    showState();
  });

  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") {
      flush();
    }
  });

  window.addEventListener("beforeunload", (event) => {
    if (!closed && Object.keys(queued()).length) {
      event.preventDefault(); // unsent answers stay in this browser; warn anyway
      event.returnValue = "";
    }
  });

  // --- start --------------------------------------------------------------------------

  async function start() {
    let paper;
    try {
      paper = await loadPaper();
    } catch (error) {
      if (!loginLost) {
        showMessage(`试卷加载失败（${error.message}），请检查网络后刷新页面。`, "danger");
      }
      return;
    }
    if (closed) {
      return;
    }
    render(paper);
    adoptFlags(paper);
    merge(paper.responses);
    el.submits.forEach((button) => {
      button.disabled = false;
    });
    tick();
    window.setInterval(tick, 1000);
    window.setInterval(() => {
      if (closed) {
        return;
      }
      if (submitWaiting) {
        timeUp(); // asks the server for the deadline first: it may have moved
      } else if (Object.keys(queued()).length) {
        flush();
      }
      if (readJSON("flagsUnsent", false)) {
        sendFlags();
      }
    }, RETRY_MS);
    window.setInterval(refresh, REFRESH_MS);
    flush();
    keepOfflineCopy();
  }

  start();
})();
