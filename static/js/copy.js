// "Copy link" / "Copy summary" / "Copy as Markdown" buttons: copy the button's data-copy text to
// the clipboard. The text is rendered by the server (links with frozen time windows, summaries
// from the job, a failure group's Markdown). Parts a page replaces live wire their new buttons
// with wireCopyButtons(part).

function flash(button, text) {
  const original = button.textContent;
  button.textContent = text;
  setTimeout(() => { button.textContent = original; }, 1500);
}

async function copy(button) {
  const text = button.dataset.copy;
  try {
    await navigator.clipboard.writeText(text);
    flash(button, "Copied");
  } catch {
    // No clipboard permission (e.g. inside some iframes): show the text to copy by hand.
    window.prompt("Copy this:", text);
  }
}

export function wireCopyButtons(root = document) {
  for (const button of root.querySelectorAll("button[data-copy]")) {
    if (button.dataset.copyWired) continue;
    button.dataset.copyWired = "1";
    button.hidden = false;
    button.addEventListener("click", () => copy(button));
  }
}

wireCopyButtons();
