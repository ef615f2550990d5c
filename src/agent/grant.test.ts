import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { grantArgs, grantFor, ownerIdOf, verifyGrant } from "./grant.js";

const key = randomBytes(32);
const otherKey = randomBytes(32);

describe("grants", () => {
  it("are `<16 hex owner id>.<base64url HMAC>` and verify for exactly their profile list", () => {
    const grant = grantFor(key, ["dev", "ops"]);
    expect(grant).toMatch(/^[0-9a-f]{16}\.[A-Za-z0-9_-]{43}$/);
    expect(grant.startsWith(`${ownerIdOf(key)}.`)).toBe(true);
    expect(verifyGrant(key, ["dev", "ops"], grant)).toEqual({ ok: true });
    // The list as a label reads it: trimmed, repeats dropped.
    expect(verifyGrant(key, ["dev", "ops", "dev"], grant)).toEqual({ ok: true });
    expect(grantFor(key, [" dev", "ops "])).toBe(grant);
  });

  it("do not verify for reordered, fewer or more profiles", () => {
    const grant = grantFor(key, ["dev", "ops"]);
    for (const profiles of [["ops", "dev"], ["dev"], ["dev", "ops", "admin"], ["dev,ops,admin"]]) {
      expect(verifyGrant(key, profiles, grant), profiles.join(",")).toEqual({ ok: false, why: "mismatch" });
    }
  });

  it("of another key are another owner's, even when the owner id is forged onto a MAC of theirs", () => {
    const theirs = grantFor(otherKey, ["dev"]);
    expect(verifyGrant(key, ["dev"], theirs)).toEqual({
      ok: false,
      why: "other-owner",
      owner: ownerIdOf(otherKey),
    });
    const forged = `${ownerIdOf(key)}.${theirs.split(".")[1] ?? ""}`;
    expect(verifyGrant(key, ["dev"], forged)).toEqual({ ok: false, why: "mismatch" });
  });

  it("fail when truncated, padded, empty or missing", () => {
    const grant = grantFor(key, ["dev"]);
    expect(verifyGrant(key, ["dev"], grant.slice(0, -1))).toEqual({ ok: false, why: "mismatch" });
    expect(verifyGrant(key, ["dev"], `${grant}A`)).toEqual({ ok: false, why: "mismatch" });
    expect(verifyGrant(key, ["dev"], `${ownerIdOf(key)}.`)).toEqual({ ok: false, why: "mismatch" });
    expect(verifyGrant(key, ["dev"], ownerIdOf(key))).toEqual({ ok: false, why: "mismatch" });
    expect(verifyGrant(key, ["dev"], "")).toEqual({ ok: false, why: "missing" });
    expect(verifyGrant(key, ["dev"], undefined)).toEqual({ ok: false, why: "missing" });
  });

  it("come as the two docker run labels", () => {
    expect(grantArgs(key, ["dev", "ops"])).toEqual([
      "--label",
      "sso-docker.profiles=dev,ops",
      "--label",
      `sso-docker.grant=${grantFor(key, ["dev", "ops"])}`,
    ]);
  });
});
