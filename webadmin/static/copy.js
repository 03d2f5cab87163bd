// Copy buttons: <button data-copy="ID"> copies the text of the element with that id.
// A static file, as the console's Content-Security-Policy allows no inline script.
"use strict";

(function () {
  function selectText(el) {
    const range = document.createRange();
    range.selectNodeContents(el);
    const sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }

  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.addEventListener("click", async function () {
      const source = document.getElementById(button.dataset.copy);
      if (!source) return;
      try {
        await navigator.clipboard.writeText(source.textContent.trim());
        button.textContent = "Copied";
      } catch (e) {
        // no clipboard access (an insecure origin, a refused permission): select it instead
        selectText(source);
        button.textContent = "Press Ctrl+C";
      }
    });
  });
})();
