// @ts-check
// The components' CSS, added to a document on first use (not at import).

const CSS = `
.psg { --psg-fg: var(--input-text, var(--fg-color, #ddd)); --psg-bg: var(--comfy-input-bg, #222);
  --psg-border: var(--border-color, #444); --psg-accent: #3b9cff; --psg-err: #e5484d;
  display: flex; flex-direction: column; gap: 4px; box-sizing: border-box; height: 100%;
  min-height: 0; color: var(--psg-fg); font: 12px/1.3 system-ui, sans-serif; outline: none; }
.psg-bar { display: flex; gap: 6px; align-items: center; flex-wrap: wrap; min-height: 24px; }
.psg-bar button, .psp button, .psp select, .psp-dialog button, .psp-dialog input {
  font: inherit; color: var(--psg-fg, #ddd); background: var(--comfy-input-bg, #2a2a2a);
  border: 1px solid var(--border-color, #555); border-radius: 4px; padding: 2px 8px; cursor: pointer; }
.psg-bar button:hover, .psp button:hover { border-color: var(--psg-accent, #3b9cff); }
.psg-count { opacity: .8; }
.psg-progress { flex: 1; min-width: 60px; height: 6px; }
.psg-msg { border-radius: 4px; padding: 3px 6px; background: rgba(229,72,77,.18);
  border: 1px solid var(--psg-err); }
.psg-msg.psg-info { background: rgba(59,156,255,.15); border-color: var(--psg-accent); }
.psg-msg button { margin-left: 6px; font: inherit; cursor: pointer; }
.psg-tiles { flex: 1; min-height: 0; overflow-y: auto; display: grid; gap: 6px; align-content: start;
  grid-template-columns: repeat(auto-fill, minmax(var(--psg-tile, 96px), 1fr)); grid-auto-rows: max-content;
  padding: 2px; border-radius: 4px; }
.psg-tiles:focus { outline: none; }
.psg-host { contain: size; min-height: var(--psg-min-height, 180px); display: flex; flex-direction: column; }
.psg-host > .psg { flex: 1; height: auto; }
.psg.psg-dropping .psg-tiles { outline: 2px dashed var(--psg-accent); outline-offset: -2px; }
.psg-empty { grid-column: 1 / -1; opacity: .7; padding: 16px 4px; text-align: center;
  border: 1px dashed var(--psg-border); border-radius: 4px; }
.psg-tile { position: relative; display: flex; flex-direction: column; border-radius: 5px;
  border: 2px solid transparent; background: var(--psg-bg); overflow: hidden; cursor: pointer; }
.psg-tile.psg-active { border-color: var(--psg-accent); box-shadow: 0 0 0 1px var(--psg-accent); }
.psg-tile.psg-dragging { opacity: .4; }
.psg-tile.psg-drop-before { box-shadow: -4px 0 0 0 var(--psg-accent); }
.psg-tile.psg-drop-after { box-shadow: 4px 0 0 0 var(--psg-accent); }
.psg-thumb { flex: none; width: 100%; aspect-ratio: 1 / 1; object-fit: cover; display: block;
  background: repeating-conic-gradient(#333 0 25%, #2a2a2a 0 50%) 0 0 / 12px 12px; }
.psg-badge { position: absolute; top: 3px; left: 3px; min-width: 14px; padding: 0 4px; border-radius: 8px;
  background: rgba(0,0,0,.7); color: #fff; font-size: 10px; text-align: center; pointer-events: none; }
.psg-tile.psg-active .psg-badge { background: var(--psg-accent); }
.psg-maskdot { position: absolute; top: 5px; right: 24px; width: 9px; height: 9px; border-radius: 50%;
  background: #fff; border: 1px solid #000; pointer-events: none; }
.psg-del, .psg-maskbtn { position: absolute; top: 2px; width: 18px; height: 18px; padding: 0; border: 0;
  border-radius: 9px; background: rgba(0,0,0,.65); color: #fff; font-size: 12px; line-height: 18px;
  cursor: pointer; opacity: 0; }
.psg-del { right: 2px; }
.psg-maskbtn { right: 2px; top: 22px; }
.psg-tile:hover .psg-del, .psg-tile:hover .psg-maskbtn, .psg-del:focus, .psg-maskbtn:focus { opacity: 1; }
.psg-del:hover { background: var(--psg-err); }
.psg-label { flex: none; width: 100%; box-sizing: border-box; border: 0; border-top: 1px solid var(--psg-border);
  background: transparent; color: inherit; font: inherit; padding: 2px 4px; }
.psg-label:focus { outline: 1px solid var(--psg-accent); }
.psp { display: flex; flex-direction: column; gap: 6px; font: 13px/1.3 system-ui, sans-serif; }
.psp-row { display: flex; gap: 6px; align-items: center; flex-wrap: wrap; }
.psp-list { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 2px;
  max-height: 40vh; overflow-y: auto; }
.psp-item { padding: 4px 8px; border-radius: 4px; cursor: pointer; border: 1px solid transparent; }
.psp-item:hover { border-color: var(--border-color, #555); }
.psp-item.psp-selected { background: rgba(59,156,255,.25); border-color: #3b9cff; }
.psp-status { min-height: 1.3em; opacity: .9; }
.psp-status.psp-error { color: #ff8a8d; }
.psp-dialog-backdrop { position: fixed; inset: 0; background: rgba(0,0,0,.5); display: flex;
  align-items: center; justify-content: center; z-index: 1000; }
.psp-dialog { background: #1e1e1e; color: #ddd; border: 1px solid #555; border-radius: 8px; padding: 16px;
  min-width: 320px; display: flex; flex-direction: column; gap: 10px; font: 13px system-ui, sans-serif; }
.psp-dialog input, .psp-dialog select { padding: 4px 6px; }
.psp-dialog .psp-row { justify-content: flex-end; }
.psp-toasts { position: fixed; right: 12px; bottom: 12px; display: flex; flex-direction: column; gap: 6px;
  z-index: 1001; }
.psp-toast { background: #1e1e1e; color: #ddd; border-left: 4px solid #3b9cff; padding: 8px 12px;
  border-radius: 4px; box-shadow: 0 2px 8px rgba(0,0,0,.4); max-width: 360px; font: 13px system-ui; }
.psp-toast.psp-error { border-left-color: #e5484d; }
.psp-toast.psp-success { border-left-color: #30a46c; }
`;

/** Add the components' stylesheet to `doc` once. */
export function ensureStyles(doc = document) {
  if (doc.getElementById("poolstore-styles")) return;
  const style = doc.createElement("style");
  style.id = "poolstore-styles";
  style.textContent = CSS;
  doc.head.appendChild(style);
}
