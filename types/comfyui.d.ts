// Types of the ComfyUI frontend as the extensions under web/ use it, for the
// type check only (nothing here ships). Most come from the frontend's own
// types package, @comfyorg/comfyui-frontend-types 1.45.6: the newest release
// that installs from the npm registry (later ones depend on a package the
// registry does not serve); the extensions are tested on frontend 1.49.6.
// What that package leaves out (its dialog service is untyped, and the
// DOM-widget additions to nodes are not in it) is declared here, as far as the
// extensions use it. types/resolved.js fails the check if these turn into `any`.

type ComfyApp = import("@comfyorg/comfyui-frontend-types").ComfyApp;
type ComfyApi = import("@comfyorg/comfyui-frontend-types").ComfyApi;
type ComfyExtension = import("@comfyorg/comfyui-frontend-types").ComfyExtension;
type ComfyToast = import("@comfyorg/comfyui-frontend-types").ToastMessageOptions;
type ComfyCanvas = ComfyApp["canvas"];
type ComfyGraph = ComfyApp["graph"];
type ComfyMenuItem = import("@comfyorg/comfyui-frontend-types").IContextMenuValue;
/** A node as the frontend's types describe it (the class is not exported by name). */
type ComfyBaseNode = Parameters<NonNullable<ComfyExtension["getNodeMenuItems"]>>[0];
/** A widget: the part the extensions use (any kind of widget has it). */
type ComfyWidget = Pick<NonNullable<ComfyBaseNode["widgets"]>[number], "name" | "value" | "options" | "hidden" | "callback" | "serialize">;

/** `app.extensionManager.dialog`: the part the extensions use. */
interface ComfyDialogService {
  prompt(options: { title: string; message: string; defaultValue?: string }): Promise<string | null | undefined>;
  confirm(options: { title: string; message: string; type?: "default" | "delete" }): Promise<boolean | null | undefined>;
}

/** What the frontend adds to every node at run time. */
interface ComfyNodeAdditions {
  addDOMWidget(
    name: string,
    type: string,
    element: HTMLElement,
    options: {
      serialize?: boolean;
      hideOnZoom?: boolean;
      getMinHeight?: () => number;
      getValue?: () => unknown;
      setValue?: (value: unknown) => void;
    },
  ): ComfyWidget;
  /** The node's output images (what the MaskEditor loads and saves). */
  images?: { filename: string; subfolder?: string; type?: string }[] | null;
  imgs?: HTMLImageElement[] | null;
  previewMediaType?: string | null;
  /** Vue nodes: do not show the node's output images. */
  hideOutputImages?: boolean;
  /** The paste handler calls this on a selected image node. */
  pasteFiles?(files: File[]): boolean;
}

type ComfyNode = ComfyBaseNode & ComfyNodeAdditions;

declare module "*/scripts/app.js" {
  export const app: ComfyApp;
}

declare module "*/scripts/api.js" {
  export const api: ComfyApi;
}
