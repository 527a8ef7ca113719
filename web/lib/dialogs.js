// In-page dialogs and toasts for the standalone page (ComfyUI has its own).
// No side effects at import.

import { ensureStyles } from "./styles.js";

function modal(build) {
  ensureStyles();
  return new Promise((resolve) => {
    const backdrop = document.createElement("div");
    backdrop.className = "psp-dialog-backdrop";
    const box = document.createElement("div");
    box.className = "psp-dialog";
    box.setAttribute("role", "dialog");
    backdrop.appendChild(box);
    const close = (value) => {
      backdrop.remove();
      resolve(value);
    };
    backdrop.addEventListener("keydown", (e) => {
      if (e.key === "Escape") close(null);
    });
    build(box, close);
    document.body.appendChild(backdrop);
    (box.querySelector("input") || box.querySelector("button.psp-ok")).focus();
  });
}

function buttons(box, close, okText, okValue, danger) {
  const row = document.createElement("div");
  row.className = "psp-row";
  const cancel = document.createElement("button");
  cancel.type = "button";
  cancel.textContent = "Cancel";
  cancel.onclick = () => close(null);
  const ok = document.createElement("button");
  ok.type = "button";
  ok.className = "psp-ok";
  ok.textContent = okText;
  if (danger) ok.style.borderColor = "#e5484d";
  ok.onclick = () => close(okValue());
  row.append(cancel, ok);
  box.appendChild(row);
}

function heading(box, title, message) {
  const h = document.createElement("strong");
  h.textContent = title;
  const p = document.createElement("div");
  p.textContent = message;
  box.append(h, p);
}

/** A page `ui` for ProfileActions and the grid: prompt, confirm, toast, busy. */
export function pageUi(statusEl) {
  let toasts = null;
  return {
    prompt: ({ title, message, defaultValue = "" }) =>
      modal((box, close) => {
        heading(box, title, message);
        const input = document.createElement("input");
        input.type = "text";
        input.value = defaultValue;
        input.addEventListener("keydown", (e) => {
          if (e.key === "Enter") close(input.value);
        });
        box.appendChild(input);
        buttons(box, close, "OK", () => input.value);
        setTimeout(() => input.select(), 0);
      }),
    confirm: ({ title, message, danger }) =>
      modal((box, close) => {
        heading(box, title, message);
        buttons(box, close, danger ? "Delete" : "OK", () => true, danger);
      }).then((v) => v === true),
    toast({ severity = "info", summary, detail }) {
      ensureStyles();
      if (!toasts || !toasts.isConnected) {
        toasts = document.createElement("div");
        toasts.className = "psp-toasts";
        toasts.setAttribute("aria-live", "polite");
        document.body.appendChild(toasts);
      }
      const t = document.createElement("div");
      t.className = `psp-toast psp-${severity}`;
      t.setAttribute("role", severity === "error" ? "alert" : "status");
      t.textContent = detail ? `${summary} — ${detail}` : summary;
      toasts.appendChild(t);
      setTimeout(() => t.remove(), severity === "error" ? 10000 : 4000);
    },
    busy(text) {
      if (!statusEl) return;
      statusEl.textContent = text || "";
      statusEl.classList.toggle("psp-busy", !!text);
    },
  };
}
