// The pool grid: thumbnails of one pool with the active one, mask dots, index
// badges, inline labels, delete, drag to reorder, paste / drop / file-picker
// uploads with progress. Shared by the ComfyUI node and the standalone page.
// No side effects at import.

import { ensureStyles } from "./styles.js";
import { Revalidator } from "./revalidate.js";

const SLOT_MIME = "application/x-poolstore-slot";
const BATCH_FILES = 8;
const BATCH_BYTES = 48 * 1024 * 1024;
const IMAGE_EXT = /\.(png|jpe?g|webp|gif|bmp|tiff?)$/i;

function el(tag, cls, attrs = {}) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

/** Split files into upload batches (few files, bounded bytes per request). */
export function batches(files, maxFiles = BATCH_FILES, maxBytes = BATCH_BYTES) {
  const out = [];
  let cur = [];
  let bytes = 0;
  for (const f of files) {
    if (cur.length && (cur.length >= maxFiles || bytes + f.size > maxBytes)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(f);
    bytes += f.size;
  }
  if (cur.length) out.push(cur);
  return out;
}

/** The image files among `files` (by type, else by name). */
export function imageFiles(files) {
  return Array.from(files || []).filter((f) => (f.type ? f.type.startsWith("image/") : IMAGE_EXT.test(f.name)));
}

/**
 * A box for a grid inside a node: it fills the height it is given, never
 * less than `minHeight` px, and its content does not count towards its
 * size (CSS size containment). A node that sizes itself to its content
 * (ComfyUI's Vue nodes) thus keeps its own height, and the thumbnails
 * scroll inside the grid however many there are.
 */
export function gridHost(doc = document, minHeight = 180) {
  ensureStyles(doc);
  const host = doc.createElement("div");
  host.className = "psg-host";
  host.style.setProperty("--psg-min-height", `${minHeight}px`);
  return host;
}

const WHEEL_HOOKED = new WeakSet();

/**
 * Let the wheel scroll a grid rather than the page behind it.
 *
 * ComfyUI's Vue nodes (frontend 1.49.6, `useCanvasInteractions`) send every
 * wheel event over a node to the canvas (zoom), except when the event's
 * target lies in an element marked `data-capture-wheel="true"` that holds
 * the focused element. A grid's scroller carries that mark; this listener
 * (capture phase on the document, so before the canvas's) focuses the
 * scroller under the pointer when it can scroll. Zoom gestures (Ctrl/Cmd +
 * wheel) and grids that do not overflow are left to the canvas. Idempotent.
 */
export function captureGridWheel(doc = document) {
  if (WHEEL_HOOKED.has(doc)) return;
  WHEEL_HOOKED.add(doc);
  doc.addEventListener("wheel", (e) => {
    if (e.ctrlKey || e.metaKey || !(e.target instanceof Element)) return;
    const scroller = e.target.closest(".psg-tiles[data-capture-wheel]");
    if (!scroller || scroller.scrollHeight <= scroller.clientHeight) return;
    if (!scroller.contains(doc.activeElement)) scroller.focus({ preventScroll: true });
  }, { capture: true, passive: true });
}

/**
 * A grid showing one pool.
 *
 * Options: `api` (from createApi), `poolId`, `interval` (ms between revalidations),
 * `thumbSize`, `confirm(message) -> Promise<boolean>` (asked before a delete),
 * `onMaskEdit(slot, grid)` (adds a mask button per tile), `onChange(doc)`, `onSelect(slot)`,
 * `shownActive(doc) -> index` (which slot to mark as the one that runs; default `doc.active`),
 * `notify({severity, summary, detail})` (optional, e.g. a toast).
 */
export class PoolGrid {
  constructor(parent, opts) {
    ensureStyles(parent.ownerDocument || document);
    this.api = opts.api;
    this.poolId = opts.poolId || "";
    this.thumbSize = opts.thumbSize || 192;
    this.confirm = opts.confirm || (async () => true);
    this.onMaskEdit = opts.onMaskEdit || null;
    this.onChange = opts.onChange || (() => {});
    this.onSelect = opts.onSelect || (() => {});
    this.shownActive = opts.shownActive || ((doc) => doc.active);
    this.notify = opts.notify || null;
    this.doc = null;
    this.tiles = new Map();
    this.busy = 0;
    this._build(parent);
    this.poller = new Revalidator({
      load: (etag) => (this.poolId ? this.api.listPool(this.poolId, etag) : Promise.resolve({ notModified: true })),
      apply: (doc) => this._render(doc),
      isVisible: () => this.isVisible(),
      interval: opts.interval || 3000,
      onError: (e) => this.showMessage(`Could not load the pool: ${e.message}`, "error", { toast: false }),
      onRecover: () => this.clearMessage(),
    });
    this.poller.start();
  }

  // -- public ----------------------------------------------------------------
  /** Show another pool (e.g. a profile's). */
  setPoolId(poolId) {
    if (poolId === this.poolId) return Promise.resolve();
    this.poolId = poolId || "";
    this.doc = null;
    this._clearTiles();
    this.clearMessage();
    return this.poller.reset();
  }

  /** Draw the current document again (e.g. after the node's index changed). */
  redraw() {
    if (this.doc) this._render(this.doc);
  }

  /** Revalidate now (the refresh hook). */
  refresh() {
    return this.poller.now();
  }

  isVisible() {
    return this.root.isConnected && this.root.getClientRects().length > 0;
  }

  destroy() {
    this.poller.stop();
    this.observer.disconnect();
    this.root.remove();
  }

  /** Upload image files with progress; resolves to the names added. */
  async upload(fileList) {
    const files = imageFiles(fileList);
    const skipped = Array.from(fileList || []).length - files.length;
    if (!files.length) {
      this.showMessage(skipped ? "Only image files can be added to a pool." : "Nothing to add.");
      return [];
    }
    if (!this.poolId) {
      this.showMessage("This grid has no pool yet.");
      return [];
    }
    const poolId = this.poolId;
    const total = files.reduce((n, f) => n + f.size, 0) || 1;
    let done = 0;
    const added = [];
    const failed = [];
    this._progress(0, files.length, 0);
    for (const batch of batches(files)) {
      const size = batch.reduce((n, f) => n + f.size, 0);
      try {
        const doc = await this._addBatch(poolId, batch, (loaded) =>
          this._progress(added.length + failed.length, files.length, (done + Math.min(loaded, size)) / total));
        added.push(...doc.added);
        failed.push(...doc.failed);
        if (doc.doc && poolId === this.poolId) this.poller.accept(doc.doc);
      } catch (e) {
        failed.push(...batch.map((f) => `${f.name}: ${e.message}`));
      }
      done += size;
    }
    this._progress(null);
    if (failed.length) {
      this.showMessage(`${failed.length} of ${files.length} not added — ${failed.join("; ")}`);
    } else if (skipped) {
      this.showMessage(`Added ${added.length}; ${skipped} non-image file(s) skipped.`, "info");
    }
    return added;
  }

  /** Show a message above the grid (errors stay until dismissed or fixed). */
  showMessage(text, kind = "error", { toast = true } = {}) {
    this.msg.hidden = false;
    this.msg.className = "psg-msg" + (kind === "info" ? " psg-info" : "");
    this.msg.setAttribute("role", kind === "info" ? "status" : "alert");
    this.msgText.textContent = text;
    clearTimeout(this._msgTimer);
    if (kind === "info") this._msgTimer = setTimeout(() => this.clearMessage(), 5000);
    if (this.notify && toast && kind !== "info") this.notify({ severity: "error", summary: "Image pool", detail: text });
  }

  clearMessage() {
    this.msg.hidden = true;
    this.msgText.textContent = "";
  }

  // -- building --------------------------------------------------------------
  _build(parent) {
    this.root = el("div", "psg", { tabindex: "0", "data-testid": "pool-grid" });
    const bar = el("div", "psg-bar");
    this.count = el("span", "psg-count");
    const add = el("button", "psg-add", { type: "button", title: "Add images (or paste / drop them here)" });
    add.textContent = "Add images…";
    this.progress = el("progress", "psg-progress", { max: "1" });
    this.progress.hidden = true;
    this.progressText = el("span", "psg-progress-text");
    this.file = el("input", "", { type: "file", multiple: "", accept: "image/*", hidden: "" });
    bar.append(this.count, add, this.progress, this.progressText, this.file);
    this.msg = el("div", "psg-msg", { role: "alert" });
    this.msg.hidden = true;
    this.msgText = el("span");
    const dismiss = el("button", "", { type: "button", title: "Dismiss" });
    dismiss.textContent = "×";
    dismiss.onclick = () => this.clearMessage();
    this.msg.append(this.msgText, dismiss);
    // The scroller: focusable, and the one element marked to keep the wheel (see captureGridWheel).
    this.tilesEl = el("div", "psg-tiles", { tabindex: "-1", "data-capture-wheel": "true" });
    this.root.append(bar, this.msg, this.tilesEl);
    parent.appendChild(this.root);

    add.onclick = () => this.file.click();
    this.file.onchange = () => {
      const files = Array.from(this.file.files);
      this.file.value = "";
      this.upload(files);
    };
    this.observer = new IntersectionObserver((entries) => this._reveal(entries), {
      root: this.tilesEl,
      rootMargin: "200px",
    });
    this._wireTiles();
    this._wireDrops();
  }

  _wireTiles() {
    const t = this.tilesEl;
    t.addEventListener("click", (e) => {
      const tile = e.target.closest(".psg-tile");
      if (!tile) return;
      const image = tile.dataset.image;
      if (e.target.closest(".psg-del")) return this._delete(image);
      if (e.target.closest(".psg-maskbtn")) return this._maskEdit(image);
      if (e.target.closest(".psg-label")) return;
      const slot = this.doc && this.doc.slots.find((x) => x.image === image);
      if (slot) this.onSelect(slot);
      this._change("select", () => this.api.setActive(this.poolId, image));
    });
    t.addEventListener("keydown", (e) => {
      if (!e.target.classList.contains("psg-label")) return;
      e.stopPropagation(); // keep ComfyUI's canvas shortcuts away from typing
      if (e.key === "Enter") e.target.blur();
      if (e.key === "Escape") {
        e.target.value = e.target.dataset.saved || "";
        e.target.blur();
      }
    });
    t.addEventListener("change", (e) => {
      if (!e.target.classList.contains("psg-label")) return;
      const image = e.target.closest(".psg-tile").dataset.image;
      const label = e.target.value;
      this._change("label", () => this.api.setLabel(this.poolId, image, label));
    });
    t.addEventListener("dragstart", (e) => {
      const tile = e.target.closest && e.target.closest(".psg-tile");
      if (!tile || e.target.closest(".psg-label")) return;
      e.dataTransfer.setData(SLOT_MIME, tile.dataset.image);
      e.dataTransfer.effectAllowed = "move";
      tile.classList.add("psg-dragging");
      this.dragging = tile.dataset.image;
    });
    t.addEventListener("dragend", () => {
      this.dragging = null;
      this._clearDropMarks();
    });
  }

  _wireDrops() {
    const r = this.root;
    const isSlot = (e) => e.dataTransfer && Array.from(e.dataTransfer.types).includes(SLOT_MIME);
    const isFiles = (e) => e.dataTransfer && Array.from(e.dataTransfer.types).includes("Files");
    r.addEventListener("dragover", (e) => {
      if (!isSlot(e) && !isFiles(e)) return;
      e.preventDefault();
      e.stopPropagation();
      if (isSlot(e)) {
        e.dataTransfer.dropEffect = "move";
        this._markDrop(e);
      } else {
        e.dataTransfer.dropEffect = "copy";
        r.classList.add("psg-dropping");
      }
    });
    r.addEventListener("dragleave", (e) => {
      if (!r.contains(e.relatedTarget)) {
        r.classList.remove("psg-dropping");
        this._clearDropMarks();
      }
    });
    r.addEventListener("drop", (e) => {
      if (!isSlot(e) && !isFiles(e)) return;
      e.preventDefault();
      e.stopPropagation(); // ComfyUI would try to load a dropped PNG as a workflow
      r.classList.remove("psg-dropping");
      if (isSlot(e)) return this._dropSlot(e);
      this.upload(e.dataTransfer.files);
    });
    r.addEventListener("paste", (e) => {
      const files = imageFiles(e.clipboardData ? e.clipboardData.files : []);
      if (!files.length) return;
      e.preventDefault();
      e.stopPropagation();
      this.upload(files);
    });
  }

  // -- rendering -------------------------------------------------------------
  _render(doc) {
    if (!doc || (this.poolId && doc.pool_id !== this.poolId && !this._samePool(doc.pool_id))) return;
    this.doc = doc;
    this.count.textContent = doc.count === 1 ? "1 image" : `${doc.count} images`;
    const active = this.shownActive(doc);
    const wanted = doc.slots.map((s) => this._tile(s, active));
    const current = Array.from(this.tilesEl.children).filter((c) => c.classList.contains("psg-tile"));
    const keep = new Set(doc.slots.map((s) => s.image));
    for (const [image, tile] of this.tiles) {
      if (!keep.has(image)) {
        this.observer.unobserve(tile.img);
        tile.remove();
        this.tiles.delete(image);
      }
    }
    if (wanted.length !== current.length || wanted.some((t, i) => t !== current[i])) {
      this.tilesEl.replaceChildren(...wanted);
    }
    if (!doc.count) {
      const empty = el("div", "psg-empty");
      empty.textContent = "No images yet — paste, drop or add some.";
      this.tilesEl.replaceChildren(empty);
    }
    this.onChange(doc);
  }

  _samePool(id) {
    // "default:abc" and "abc" name the same pool
    const strip = (x) => (x.startsWith("default:") ? x.slice(8) : x);
    return strip(id) === strip(this.poolId);
  }

  _tile(slot, active) {
    let tile = this.tiles.get(slot.image);
    if (!tile) {
      tile = this._makeTile(slot.image);
      this.tiles.set(slot.image, tile);
    }
    tile.classList.toggle("psg-active", slot.index === active);
    tile.badge.textContent = String(slot.index);
    tile.title = `index ${slot.index}${slot.label ? " — " + slot.label : ""}`;
    tile.maskDot.hidden = !slot.mask;
    if (document.activeElement !== tile.label) {
      tile.label.value = slot.label || "";
      tile.label.dataset.saved = slot.label || "";
    }
    return tile;
  }

  _makeTile(image) {
    const tile = el("div", "psg-tile", { draggable: "true", "data-image": image });
    const img = el("img", "psg-thumb", { alt: image, loading: "lazy", draggable: "false" });
    img.dataset.src = this.api.thumbUrl(this.poolId, image, this.thumbSize);
    const badge = el("span", "psg-badge");
    const maskDot = el("span", "psg-maskdot", { title: "has a mask" });
    const del = el("button", "psg-del", { type: "button", title: "Remove from pool" });
    del.textContent = "×";
    const label = el("input", "psg-label", { type: "text", placeholder: "label", spellcheck: "false" });
    tile.append(img, badge, maskDot, del);
    if (this.onMaskEdit) {
      const mb = el("button", "psg-maskbtn", { type: "button", title: "Edit mask" });
      mb.textContent = "◐";
      tile.append(mb);
    }
    tile.append(label);
    Object.assign(tile, { img, badge, maskDot, label });
    this.observer.observe(img);
    return tile;
  }

  _reveal(entries) {
    for (const entry of entries) {
      if (!entry.isIntersecting) continue;
      const img = entry.target;
      if (img.dataset.src) {
        img.src = img.dataset.src;
        delete img.dataset.src;
      }
      this.observer.unobserve(img);
    }
  }

  _clearTiles() {
    this.observer.disconnect();
    this.tiles.clear();
    this.tilesEl.replaceChildren();
    this.count.textContent = "";
  }

  _progress(index, total, fraction) {
    if (index === null) {
      this.progress.hidden = true;
      this.progressText.textContent = "";
      return;
    }
    this.progress.hidden = false;
    this.progress.value = fraction;
    this.progressText.textContent = `Uploading ${Math.min(index + 1, total)} of ${total} (${Math.round(fraction * 100)}%)`;
  }

  // -- changes ---------------------------------------------------------------
  /** Run a change; its answer (the pool document) becomes the grid. Lost races are reported. */
  async _change(what, call) {
    const poolId = this.poolId;
    this.busy += 1;
    try {
      const doc = await call();
      if (poolId === this.poolId) this.poller.accept(doc);
      this.clearMessage();
      return doc;
    } catch (e) {
      const race = e.code === "conflict" || e.code === "not_found" || (what === "reorder" && e.code === "invalid");
      const lead = race ? `Your ${what} did not apply: someone else changed this pool first` : `Could not ${what}`;
      this.showMessage(`${lead} (${e.message}). The grid now shows the current pool.`);
      this.poller.reset();
      return null;
    } finally {
      this.busy -= 1;
    }
  }

  async _addBatch(poolId, batch, onProgress) {
    try {
      const doc = await this.api.addImages(poolId, batch, { onProgress });
      return { added: doc.added || [], failed: [], doc };
    } catch (e) {
      if (batch.length === 1 || e.status !== 400) throw e;
    }
    // One bad file fails its whole batch: add the others one by one and name the bad ones.
    const added = [];
    const failed = [];
    let doc = null;
    for (const f of batch) {
      try {
        doc = await this.api.addImages(poolId, [f]);
        added.push(...(doc.added || []));
      } catch (e) {
        failed.push(`${f.name}: ${e.message}`);
      }
    }
    return { added, failed, doc };
  }

  async _delete(image) {
    const slot = this.doc && this.doc.slots.find((s) => s.image === image);
    const what = slot && slot.label ? `"${slot.label}" (index ${slot.index})` : `index ${slot ? slot.index : "?"}`;
    if (!(await this.confirm(`Remove image ${what} and its mask from this pool?`))) return;
    await this._change("delete", () => this.api.remove(this.poolId, image));
  }

  async _maskEdit(image) {
    const slot = this.doc && this.doc.slots.find((s) => s.image === image);
    if (!slot) return;
    try {
      await this.onMaskEdit(slot, this);
    } catch (e) {
      this.showMessage(`Mask editor: ${e.message}`);
    }
  }

  _markDrop(e) {
    const tile = e.target.closest && e.target.closest(".psg-tile");
    this._clearDropMarks();
    if (!tile || tile.dataset.image === this.dragging) return;
    const box = tile.getBoundingClientRect();
    tile.classList.add(e.clientX < box.left + box.width / 2 ? "psg-drop-before" : "psg-drop-after");
  }

  _clearDropMarks() {
    for (const t of this.tilesEl.querySelectorAll(".psg-drop-before, .psg-drop-after, .psg-dragging")) {
      t.classList.remove("psg-drop-before", "psg-drop-after", "psg-dragging");
    }
  }

  _dropSlot(e) {
    const moved = e.dataTransfer.getData(SLOT_MIME);
    const tile = e.target.closest && e.target.closest(".psg-tile");
    const after = tile && tile.classList.contains("psg-drop-after");
    this._clearDropMarks();
    if (!this.doc || !tile || !moved || tile.dataset.image === moved) return;
    this.move(moved, tile.dataset.image, after);
  }

  /** Move slot `image` before (or after) slot `target`, by image names. */
  move(image, target, after = false) {
    const order = this.doc.slots.map((s) => s.image).filter((n) => n !== image);
    const at = order.indexOf(target);
    if (at < 0) return Promise.resolve(null);
    order.splice(after ? at + 1 : at, 0, image);
    return this._change("reorder", () => this.api.reorder(this.poolId, order));
  }
}
