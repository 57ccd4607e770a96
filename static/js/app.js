// Behaviour for server-rendered pages; the CSP allows no inline script, so it lives here.
document.addEventListener("submit", (event) => {
  const message = event.target.dataset.confirm;
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});

document.addEventListener("click", (event) => {
  if (event.target.closest("[data-print]")) {
    window.print();
  }
});

// A "select all" checkbox: data-check-all names the checkboxes it toggles.
document.addEventListener("change", (event) => {
  const name = event.target.dataset.checkAll;
  if (name) {
    document.querySelectorAll(`input[type=checkbox][name="${name}"]`).forEach((box) => {
      box.checked = event.target.checked;
    });
  }
});

// The question form shows only the inputs of the chosen type (all show without script).
function showInputsForType(form) {
  const select = form.querySelector("select[name=type]");
  form.querySelectorAll("[data-for-types]").forEach((part) => {
    part.hidden = !part.dataset.forTypes.split(" ").includes(select.value);
  });
}

document.querySelectorAll("form[data-question-form]").forEach((form) => {
  showInputsForType(form);
  form.addEventListener("change", (event) => {
    if (event.target.name === "type") {
      showInputsForType(form);
    }
  });
});
