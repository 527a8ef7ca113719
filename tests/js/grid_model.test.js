// The grid's decisions (web/lib/grid_model.js).
import { describe, expect, it } from "vitest";
import { ApiError } from "../../web/lib/api.js";
import { changeFailure, lostRace, movedOrder, runIndex, samePool } from "../../web/lib/grid_model.js";

describe("runIndex", () => {
  it("is the clicked slot unless the index input forces one, clamped to the pool", () => {
    const doc = { active: 2, count: 4 };
    expect(runIndex(doc, -1)).toBe(2);
    expect(runIndex(doc, 0)).toBe(0);
    expect(runIndex(doc, 3)).toBe(3);
    expect(runIndex(doc, 9)).toBe(3);
    expect(runIndex({ active: 0, count: 0 }, 5)).toBe(0);
  });
});

describe("movedOrder", () => {
  const names = ["a", "b", "c", "d"];
  it("moves an image before or after another", () => {
    expect(movedOrder(names, "d", "a")).toEqual(["d", "a", "b", "c"]);
    expect(movedOrder(names, "a", "c", true)).toEqual(["b", "c", "a", "d"]);
    expect(movedOrder(names, "b", "d", true)).toEqual(["a", "c", "d", "b"]);
    expect(names).toEqual(["a", "b", "c", "d"]);
  });

  it("gives nothing for a target that is not there", () => {
    expect(movedOrder(names, "a", "x")).toBeNull();
    expect(movedOrder(names, "a", "a")).toBeNull();
  });
});

describe("changeFailure", () => {
  it("reports a change that lost the race as such: 409 conflict (a stale reorder) or 404", () => {
    const stale = new ApiError(409, "conflict", "the pool changed: the order names 2 of its 3 images; reload and retry");
    expect(lostRace(stale)).toBe(true);
    expect(changeFailure("reorder", stale)).toBe(
      "Your reorder did not apply: someone else changed this pool first (the pool changed: the order names 2 of its 3 images; reload and retry). The grid now shows the current pool.");
    expect(changeFailure("label", new ApiError(404, "not_found", "no such slot"))).toMatch(/^Your label did not apply/);
  });

  it("reports a refused reorder (400) as a failure, not as a lost race", () => {
    const invalid = new ApiError(400, "invalid", "order must name every slot exactly once");
    expect(lostRace(invalid)).toBe(false);
    expect(changeFailure("reorder", invalid)).toBe(
      "Could not reorder (order must name every slot exactly once). The grid now shows the current pool.");
    expect(changeFailure("select", new Error("boom"))).toMatch(/^Could not select \(boom\)/);
  });
});

describe("samePool", () => {
  it("takes a default-store qualified id as the plain one", () => {
    expect(samePool("default:abc", "abc")).toBe(true);
    expect(samePool("abc", "default:abc")).toBe(true);
    expect(samePool("team:abc", "abc")).toBe(false);
  });
});
