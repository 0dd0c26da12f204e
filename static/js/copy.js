// "Copy link" / "Copy summary" buttons: copy the button's data-copy text to the clipboard.
// The text is rendered by the server (links with frozen time windows, summaries from the job).

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

for (const button of document.querySelectorAll("button[data-copy]")) {
  button.hidden = false;
  button.addEventListener("click", () => copy(button));
}
