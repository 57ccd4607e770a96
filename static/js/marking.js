// The marking form: ticking marking points suggests a score (their points on the item's
// scale); number keys 1–9 tick them; Enter in the score field submits. The score stays the
// marker's to adjust: the server checks it lies within the item's points.
(() => {
  "use strict";
  const form = document.querySelector("[data-marking]");
  if (!form) {
    return;
  }
  const score = form.querySelector("[data-score]");
  const hint = form.querySelector("[data-suggested]");
  const boxes = Array.from(form.querySelectorAll("input[name=checked]"));
  const itemPoints = Number(form.dataset.points);
  const total = Number(form.dataset.total);
  let touched = score.value !== "";

  function suggest() {
    const ticked = boxes.filter((box) => box.checked).reduce((sum, box) => sum + Number(box.dataset.points), 0);
    const value = total > 0 ? Math.min(itemPoints, Math.round((ticked * itemPoints * 100) / total) / 100) : 0;
    hint.textContent = `所勾要点合计折合 ${value} 分`;
    if (!touched) {
      score.value = String(value);
    }
  }

  boxes.forEach((box) => box.addEventListener("change", suggest));
  score.addEventListener("input", () => {
    touched = true;
  });
  document.addEventListener("keydown", (event) => {
    const typing = ["TEXTAREA", "INPUT"].includes(event.target.tagName) && event.target.type !== "checkbox";
    if (typing || event.ctrlKey || event.metaKey || event.altKey) {
      return;
    }
    const number = Number(event.key);
    if (Number.isInteger(number) && number >= 1 && number <= boxes.length) {
      boxes[number - 1].checked = !boxes[number - 1].checked;
      suggest();
      event.preventDefault();
    }
  });
  suggest();
  score.focus({ preventScroll: true });
})();
