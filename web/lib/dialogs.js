// @ts-check
// In-page dialogs and toasts for the standalone page (ComfyUI has its own).
// No side effects at import.

import { ensureStyles } from "./styles.js";

/** @typedef {import("./profile_actions.js").Ui} Ui */
/** @typedef {(value: string | true | null) => void} Close */

/**
 * Show a modal box built by `build`; resolves to the value it closes with
 * (null: cancelled, by a button or Escape).
 * @param {(box: HTMLDivElement, close: Close) => void} build
 * @returns {Promise<string | true | null>}
 */
function modal(build) {
  ensureStyles();
  return new Promise((resolve) => {
    const backdrop = document.createElement("div");
    backdrop.className = "psp-dialog-backdrop";
    const box = document.createElement("div");
    box.className = "psp-dialog";
    box.setAttribute("role", "dialog");
    backdrop.appendChild(box);
    /** @type {Close} */
    const close = (value) => {
      backdrop.remove();
      resolve(value);
    };
    backdrop.addEventListener("keydown", (e) => {
      if (e.key === "Escape") close(null);
    });
    build(box, close);
    document.body.appendChild(backdrop);
    const first = box.querySelector("input") || box.querySelector("button.psp-ok");
    if (first instanceof HTMLElement) first.focus();
  });
}

/**
 * @param {HTMLElement} box
 * @param {Close} close
 * @param {string} okText
 * @param {() => string | true} okValue
 * @param {boolean} [danger]
 */
function buttons(box, close, okText, okValue, danger = false) {
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

/**
 * @param {HTMLElement} box
 * @param {string} title
 * @param {string} message
 */
function heading(box, title, message) {
  const h = document.createElement("strong");
  h.textContent = title;
  const p = document.createElement("div");
  p.textContent = message;
  box.append(h, p);
}

/**
 * A page `ui` for ProfileActions and the grid: prompt, confirm, toast, busy.
 * @param {HTMLElement | null} statusEl  where `busy` writes
 * @returns {Ui}
 */
export function pageUi(statusEl) {
  /** @type {HTMLDivElement | null} */
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
      }).then((v) => (typeof v === "string" ? v : null)),
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
