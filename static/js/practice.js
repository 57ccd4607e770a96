// A practice question: the answer goes as the form's fields, the feedback comes back as
// JSON (POST /practice/answer) and is shown on the page. A refusal shows its message; a
// malformed answer leaves the question open to answer again.
(() => {
  const form = document.querySelector("form[data-practice-question]");
  if (!form) {
    return;
  }
  const submit = form.querySelector("[data-submit]");
  const message = document.querySelector("[data-message]");
  const result = document.querySelector("[data-result]");
  // Refusals after which the same answer may be sent again (nothing was recorded).
  const RETRY = [
    "invalid_answer",
    "choice_out_of_range",
    "repeated_choice",
    "empty_answer",
    "database_unavailable",
  ];

  function show(element, text) {
    element.textContent = text;
    element.classList.remove("d-none");
  }

  function done() {
    form.querySelectorAll("input, button").forEach((input) => {
      input.disabled = true;
    });
    submit.classList.add("d-none");
    document.querySelectorAll("[data-after-answer]").forEach((part) => {
      part.classList.remove("d-none");
    });
    document.querySelector("a[data-after-answer]").focus(); // 下一题, for the keyboard
  }

  function refs(groups) {
    const place = form.querySelector("[data-refs]");
    place.replaceChildren();
    if (!groups.length) {
      place.textContent = "（无）";
    }
    groups.forEach((group, index) => {
      if (index) {
        place.append("；");
      }
      group.places.forEach((ref, nth) => {
        if (nth) {
          place.append("、");
        }
        const link = document.createElement("a");
        link.href = ref.url;
        link.textContent = (nth ? "" : group.name) + ref.place;
        place.append(link);
      });
    });
  }

  function feedback(answer) {
    result.classList.add(answer.correct ? "alert-success" : "alert-danger");
    result.dataset.result = answer.correct ? "right" : "wrong";
    const heading = document.createElement("strong");
    heading.textContent = answer.correct ? "回答正确" : "回答错误";
    result.replaceChildren(heading, answer.notebook ? ` · ${answer.notebook}` : "");
    result.classList.remove("d-none");
    form.querySelectorAll("input[name=choice]").forEach((input) => {
      const choice = Number(input.value);
      const label = form.querySelector(`label[for="${input.id}"]`);
      if (answer.key_choices.includes(choice)) {
        label.classList.add("text-success", "fw-bold");
      } else if (answer.given_choices.includes(choice)) {
        label.classList.add("text-danger");
      }
    });
    form.querySelector("[data-given]").textContent = answer.given;
    form.querySelector("[data-key]").textContent = answer.key;
    form.querySelector("[data-explanation]").textContent = answer.explanation;
    refs(answer.refs);
    form.querySelector("[data-due]").textContent = answer.due;
    form.querySelector("[data-feedback]").classList.remove("d-none");
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    message.classList.add("d-none");
    let response;
    let body;
    try {
      response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      body = await response.json();
    } catch {
      show(message, "网络连接失败，答案没有提交，请重试。");
      submit.disabled = false;
      return;
    }
    if (response.ok) {
      feedback(body);
      done();
    } else if (RETRY.includes(body.error)) {
      show(message, body.message);
      submit.disabled = false;
    } else {
      show(message, body.message || "提交失败，请重试。");
      done();
    }
  });
})();
