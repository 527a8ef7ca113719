// @ts-check
// The standalone page served by `poolstore serve`: the profile manager and the
// pool grid over plain fetch. Exports `main` only (no side effects at import,
// because ComfyUI imports every .js file under web/).

import { createApi } from "../lib/api.js";
import { PoolGrid } from "../lib/grid.js";
import { ProfilePanel } from "../lib/profile_panel.js";
import { pageUi } from "../lib/dialogs.js";

/**
 * The element of index.html with id `id`.
 * @template {HTMLElement} E
 * @param {Document} doc
 * @param {string} id
 * @param {new () => E} type
 * @returns {E}
 */
function part(doc, id, type) {
  const e = doc.getElementById(id);
  if (!(e instanceof type)) throw new Error(`the page has no ${type.name} #${id}`);
  return e;
}

/** Build the page inside the elements of index.html. */
export function main(doc = document) {
  const api = createApi({ url: (p) => p });
  const ui = pageUi(part(doc, "status", HTMLElement));
  const title = part(doc, "pool-title", HTMLElement);
  const grid = new PoolGrid(part(doc, "grid", HTMLElement), {
    api,
    poolId: "",
    confirm: (message) => ui.confirm({ title: "Remove image", message, danger: true }),
  });
  /**
   * @param {string} poolId
   * @param {string} heading
   */
  const show = (poolId, heading) => {
    title.textContent = heading;
    grid.setPoolId(poolId);
    const url = new URL(location.href);
    if (poolId) url.searchParams.set("pool", poolId);
    else url.searchParams.delete("pool");
    history.replaceState(null, "", url);
  };
  const profiles = new ProfilePanel(part(doc, "profile-manager", HTMLElement), {
    api,
    ui,
    onSelect: (entry) => {
      if (entry) show(entry.id, `Profile: ${entry.name}`);
      else if (grid.poolId && profiles.controller.profiles.some((p) => p.id === grid.poolId)) show("", "Select a profile");
    },
  });
  part(doc, "open-pool", HTMLFormElement).addEventListener("submit", (e) => {
    e.preventDefault();
    const id = part(doc, "pool-id", HTMLInputElement).value.trim();
    if (!id) return;
    profiles.controller.select(null);
    show(id, `Pool: ${id}`);
  });
  const initial = new URL(location.href).searchParams.get("pool");
  if (initial) show(initial, `Pool: ${initial}`);
  profiles.start();
  return { api, grid, profiles };
}
