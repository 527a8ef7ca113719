// The standalone page served by `poolstore serve`: the profile manager and the
// pool grid over plain fetch. Exports `main` only (no side effects at import,
// because ComfyUI imports every .js file under web/).

import { createApi } from "../lib/api.js";
import { PoolGrid } from "../lib/grid.js";
import { ProfileManager } from "../lib/profiles.js";
import { pageUi } from "../lib/dialogs.js";

/** Build the page inside the elements of index.html. */
export function main(doc = document) {
  const api = createApi({ url: (p) => p });
  const ui = pageUi(doc.getElementById("status"));
  const title = doc.getElementById("pool-title");
  const grid = new PoolGrid(doc.getElementById("grid"), {
    api,
    poolId: "",
    confirm: (message) => ui.confirm({ title: "Remove image", message, danger: true }),
  });
  const show = (poolId, heading) => {
    title.textContent = heading;
    grid.setPoolId(poolId);
    const url = new URL(location.href);
    if (poolId) url.searchParams.set("pool", poolId);
    else url.searchParams.delete("pool");
    history.replaceState(null, "", url);
  };
  const manager = new ProfileManager(doc.getElementById("profile-manager"), {
    api,
    ui,
    onSelect: (entry) => {
      if (entry) show(entry.id, `Profile: ${entry.name}`);
      else if (grid.poolId && manager.profiles.some((p) => p.id === grid.poolId)) show("", "Select a profile");
    },
  });
  doc.getElementById("open-pool").addEventListener("submit", (e) => {
    e.preventDefault();
    const id = doc.getElementById("pool-id").value.trim();
    if (!id) return;
    manager.select(null);
    show(id, `Pool: ${id}`);
  });
  const initial = new URL(location.href).searchParams.get("pool");
  if (initial) show(initial, `Pool: ${initial}`);
  manager.start();
  return { api, grid, manager };
}
