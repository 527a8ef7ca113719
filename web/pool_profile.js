// @ts-check
// ComfyUI extension for "Pool Profile" (PoolProfile): a ProfileNode
// (lib/comfy_profile.js) on each node, kept in step with the node's life.

import { app } from "../../scripts/app.js";
import { api } from "../../scripts/api.js";
import { ProfileNode } from "./lib/comfy_profile.js";
import { PROFILE_TYPE, extendMethod } from "./lib/comfy_ui.js";

/** @typedef {import("./lib/comfy_ui.js").ProfileNodeHost} ProfileNodeHost */

/** @type {ComfyExtension} */
const extension = {
  name: "poolstore.PoolProfile",

  // "Refresh node definitions" (the R key) sets every combo back to its definition's list.
  refreshComboInNodes() {
    for (const node of /** @type {ProfileNodeHost[]} */ ((app.graph && app.graph.nodes) || [])) {
      if (node._poolProfile) node._poolProfile.definitionsRefreshed();
    }
  },

  beforeRegisterNodeDef(nodeType, nodeData) {
    if (nodeData.name !== PROFILE_TYPE) return;
    const proto = nodeType.prototype;
    extendMethod(proto, "onNodeCreated", function () {
      const node = /** @type {ProfileNodeHost} */ (this);
      node._poolProfile = new ProfileNode(node, { app, api });
      node._poolProfile.start();
    });
    extendMethod(proto, "onConfigure", function () {
      const node = /** @type {ProfileNodeHost} */ (this);
      if (node._poolProfile) node._poolProfile.restore();
    });
    extendMethod(proto, "onRemoved", function () {
      const node = /** @type {ProfileNodeHost} */ (this);
      if (node._poolProfile) node._poolProfile.stop();
    }, { before: true });
  },
};

app.registerExtension(extension);
