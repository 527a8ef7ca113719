// @ts-check
// Type-check guard, never run: the check skips declaration files, so types
// that stopped resolving (a moved package, a renamed export) would silently
// become `any` and every use of them would pass. Each line below is an error
// only while the types are real; `@ts-expect-error` then fails the check when
// one of them is `any`.

/** @type {[ComfyApp, ComfyApi, ComfyNode, ComfyWidget, ComfyCanvas, ComfyGraph]} */
const [app, api, node, widget, canvas, graph] = /** @type {any} */ ([]);

// @ts-expect-error: not a member of ComfyApp
app.noSuchMember;
// @ts-expect-error: not a member of ComfyApi
api.noSuchMember;
// @ts-expect-error: not a member of a node
node.noSuchMember;
// @ts-expect-error: not a member of a widget
widget.noSuchMember;
// @ts-expect-error: not a member of the canvas
canvas.noSuchMember;
// @ts-expect-error: not a member of the graph
graph.noSuchMember;

export {};
