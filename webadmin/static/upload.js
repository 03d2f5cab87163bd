// The /upload page: drop or pick files; each gets a ticket, goes straight to storage
// (a presigned POST to the bucket, or the console's signed PUT with folder storage) with a
// progress bar, then is finalized (validated and published). No inline script: CSP.
"use strict";

(function () {
  const zone = document.getElementById("drop-zone");
  const picker = document.getElementById("file-picker");
  const list = document.getElementById("upload-list");
  if (!zone || !picker || !list) return;
  const csrf = zone.dataset.csrf;
  const maxSize = parseInt(zone.dataset.maxSize, 10);
  const PARALLEL = 3;

  function row(file) {
    const li = document.createElement("li");
    li.className = "upload-item";
    li.dataset.filename = file.name;
    li.dataset.state = "waiting";
    const name = document.createElement("span");
    name.className = "upload-name";
    name.textContent = file.name;
    const bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", "Upload progress of " + file.name);
    const status = document.createElement("span");
    status.className = "upload-status";
    status.textContent = "waiting";
    li.append(name, bar, status);
    list.append(li);
    return {
      progress(fraction) {
        bar.value = Math.round(fraction * 100);
      },
      state(state, text) {
        li.dataset.state = state;
        status.textContent = text;
      },
      link(href, text) {
        const a = document.createElement("a");
        a.href = href;
        a.textContent = text;
        status.append(" ", a);
      },
    };
  }

  async function postJSON(url, body) {
    let resp;
    try {
      resp = await fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify(body),
      });
    } catch (e) {
      throw new Error("the console cannot be reached");
    }
    const type = resp.headers.get("Content-Type") || "";
    if (!type.includes("application/json")) {
      throw new Error(resp.redirected ? "your session has ended: sign in again" :
        "the console answered " + resp.status);
    }
    const data = await resp.json();
    if (!resp.ok) {
      const err = new Error(data.error || "the console answered " + resp.status);
      err.httpStatus = resp.status;
      throw err;
    }
    return data;
  }

  // S3 answers errors as XML with a <Message>; the console as JSON with "error".
  function describe(xhr) {
    const text = xhr.responseText || "";
    const xml = text.match(/<Message>([^<]*)<\/Message>/);
    if (xml) return "storage refused the upload: " + xml[1];
    try {
      return JSON.parse(text).error || "upload failed (" + xhr.status + ")";
    } catch (e) {
      return "upload failed (" + xhr.status + ")";
    }
  }

  function send(target, file, onProgress) {
    return new Promise(function (resolve, reject) {
      const xhr = new XMLHttpRequest();
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) onProgress(e.loaded / e.total);
      });
      xhr.addEventListener("load", function () {
        if (xhr.status >= 200 && xhr.status < 300) resolve();
        else reject(new Error(describe(xhr)));
      });
      xhr.addEventListener("error", function () {
        reject(new Error("the upload could not reach storage (network or CORS)"));
      });
      xhr.open(target.method, target.url);
      if (target.method === "POST") {
        const form = new FormData();
        for (const [k, v] of Object.entries(target.fields || {})) form.append(k, v);
        form.append("file", file); // S3 wants the file as the last field
        xhr.send(form);
      } else {
        xhr.setRequestHeader("Content-Type", "application/octet-stream");
        xhr.send(file);
      }
    });
  }

  const RESULT = {
    published: "published",
    replaced: "replaced",
    skipped: "already there (identical file)",
  };

  async function upload(file, r) {
    try {
      if (file.size > maxSize) {
        throw new Error("larger than the limit of " + zone.dataset.maxSizeText);
      }
      r.state("uploading", "uploading");
      const ticket = await postJSON(zone.dataset.ticketUrl, {
        filename: file.name,
        size: file.size,
      });
      await send(ticket.upload, file, r.progress);
      r.progress(1);
      r.state("publishing", "publishing");
      const result = await postJSON(ticket.finalize, {});
      r.state(result.status, RESULT[result.status] || result.status);
      r.link(result.project_url, result.project + " " + result.version);
    } catch (e) {
      r.state("refused", "refused: " + e.message);
    }
  }

  // A few uploads at a time: enough to fill the pipe, not so many that all stall.
  async function uploadAll(files) {
    const queue = Array.from(files).map((f) => [f, row(f)]);
    async function worker() {
      while (queue.length) {
        const [file, r] = queue.shift();
        await upload(file, r);
      }
    }
    await Promise.all(Array.from({ length: PARALLEL }, worker));
  }

  zone.addEventListener("dragover", function (e) {
    e.preventDefault();
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragleave", function () {
    zone.classList.remove("dragging");
  });
  zone.addEventListener("drop", function (e) {
    e.preventDefault();
    zone.classList.remove("dragging");
    if (e.dataTransfer && e.dataTransfer.files.length) uploadAll(e.dataTransfer.files);
  });
  // The zone is one button: a click on it, Enter or Space opens the file chooser.
  zone.addEventListener("click", function (e) {
    if (!e.target.closest("label")) picker.click(); // the label opens it by itself
  });
  zone.addEventListener("keydown", function (e) {
    if (e.target !== zone || (e.key !== "Enter" && e.key !== " ")) return;
    e.preventDefault();
    picker.click();
  });
  picker.addEventListener("change", function () {
    uploadAll(picker.files);
    picker.value = "";
  });
})();
