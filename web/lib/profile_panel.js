// @ts-check
// The standalone page's view of the profile manager: a store chooser, the
// action buttons, the profile list and a status line, over a
// ProfileController (profiles.js). No side effects at import.

import { errorText } from "./api.js";
import { ensureStyles } from "./styles.js";
import { ACTIONS, ProfileController } from "./profiles.js";

/** @typedef {import("./api.js").PoolApi} PoolApi */
/** @typedef {import("./api.js").ProfileEntry} ProfileEntry */
/** @typedef {import("./api.js").StoreInfo} StoreInfo */
/** @typedef {import("./profiles.js").Action} Action */
/** @typedef {import("./profile_actions.js").Ui} Ui */

/** @type {Record<Action, [string, string]>} button text and title */
const BUTTONS = {
  create: ["New", "Create an empty profile"],
  rename: ["Rename", ""],
  duplicate: ["Duplicate", ""],
  delete: ["Delete", ""],
  export: ["Export", "Download the profile as a zip"],
  import: ["Import", "Import a profile zip"],
  copy: ["Copy to store…", "Copy the profile to another store"],
};

/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {Document} doc
 * @param {K} tag
 * @param {string} [cls]
 * @param {string} [text]
 */
function el(doc, tag, cls = "", text = "") {
  const e = doc.createElement(tag);
  if (cls) e.className = cls;
  if (text) e.textContent = text;
  return e;
}

/** The profile manager of the standalone page; the selected profile's pool is what the page's grid shows. */
export class ProfilePanel {
  /**
   * @param {HTMLElement} parent
   * @param {{api: PoolApi, ui: Ui, onSelect?: (entry: ProfileEntry | null) => void}} options
   */
  constructor(parent, { api, ui, onSelect }) {
    const doc = parent.ownerDocument;
    ensureStyles(doc);
    this.onSelect = onSelect || (() => {});
    this.root = el(doc, "div", "psp");
    this.root.dataset.testid = "profile-manager";
    this.storeSelect = el(doc, "select", "psp-store");
    this.warn = el(doc, "span", "psp-warn");
    this.list = el(doc, "ul", "psp-list");
    this.statusEl = el(doc, "div", "psp-status");
    this.controller = new ProfileController({
      api,
      ui,
      selectCopies: true,
      isVisible: () => this.root.isConnected,
      doc,
      view: {
        storesLoaded: (stores) => this._stores(stores),
        listed: (profiles) => this._list(profiles),
        selected: (entry) => this._selected(entry),
        missing: () => {
          this._status("The selected profile was deleted or moved by someone else.", true);
          this.controller.select(null);
        },
        failed: (what, e) => this._status(`Could not list ${what}: ${errorText(e)}`, true),
        recovered: () => this._status(""),
      },
    });
    this._build(parent);
  }

  /** Load the stores, then keep the list fresh. */
  start() {
    return this.controller.start();
  }

  /** @param {HTMLElement} parent */
  _build(parent) {
    const doc = parent.ownerDocument;
    const storeRow = el(doc, "div", "psp-row");
    const label = el(doc, "label", "", "Store ");
    label.appendChild(this.storeSelect);
    storeRow.append(label, this.warn);
    const actions = el(doc, "div", "psp-row");
    for (const action of ACTIONS) {
      const [text, title] = BUTTONS[action];
      const b = el(doc, "button", "", text);
      b.type = "button";
      b.dataset.action = action;
      if (title) b.title = title;
      actions.append(b);
    }
    this.list.setAttribute("role", "listbox");
    this.statusEl.setAttribute("role", "status");
    this.root.append(storeRow, actions, this.list, this.statusEl);
    parent.appendChild(this.root);

    this.storeSelect.onchange = () => {
      this.controller.setStore(this.storeSelect.value);
      this._warnings();
      this.controller.select(null);
    };
    this.list.onclick = (e) => {
      const li = e.target instanceof Element ? e.target.closest("li") : null;
      if (li) this.controller.select(li.dataset.id || null);
    };
    actions.onclick = (e) => {
      const b = e.target instanceof Element ? e.target.closest("button") : null;
      const action = b && ACTIONS.find((a) => a === b.dataset.action);
      if (action) this.controller.act(action);
    };
  }

  /** @param {StoreInfo[]} stores */
  _stores(stores) {
    const doc = this.root.ownerDocument;
    this.storeSelect.replaceChildren(...stores.map((s) => {
      const o = el(doc, "option", "", `${s.name} (${s.kind})`);
      o.value = s.name;
      o.title = s.url || "";
      return o;
    }));
    this.storeSelect.value = this.controller.store;
    this._warnings();
  }

  _warnings() {
    const s = this.controller.stores.find((x) => x.name === this.controller.store);
    this.warn.textContent = s && s.concurrent_writes_safe === false
      ? "⚠ this store ignores conditional writes: simultaneous edits by several people may be lost"
      : "";
  }

  /** @param {ProfileEntry[]} profiles */
  _list(profiles) {
    const doc = this.root.ownerDocument;
    this.list.replaceChildren(...profiles.map((p) => {
      const li = el(doc, "li", "psp-item", p.name);
      li.dataset.id = p.id;
      li.setAttribute("role", "option");
      li.classList.toggle("psp-selected", p.id === this.controller.selectedId);
      return li;
    }));
  }

  /** @param {ProfileEntry | null} entry */
  _selected(entry) {
    for (const li of this.list.querySelectorAll("li")) {
      li.classList.toggle("psp-selected", li.dataset.id === this.controller.selectedId);
    }
    this.onSelect(entry);
  }

  /**
   * @param {string} text
   * @param {boolean} [error]
   */
  _status(text, error = false) {
    this.statusEl.textContent = text;
    this.statusEl.classList.toggle("psp-error", error);
  }
}
