import { describe, expect, it } from "vitest";
import { ConfigError } from "../runtime/errors.js";
import { parseAwsConfig } from "./config-read.js";
import { resolveSsoEndpoints } from "./endpoints.js";

const CONFIG = parseAwsConfig(
  `[profile plain]
sso_session = s

[profile with-url]
endpoint_url = http://profile:1

[profile with-services]
services = local
endpoint_url = http://profile:1

[profile oidc-only-services]
services = partial
endpoint_url = http://profile:1

[profile ignoring]
services = local
ignore_configured_endpoint_urls = true

[profile dangling]
services = nowhere

[services local]
sso_oidc =
  endpoint_url = http://services-oidc:2
sso =
  endpoint_url = http://services-portal:3

[services partial]
sso_oidc =
  endpoint_url = http://partial-oidc:4
`,
  "config",
);

const resolve = (profileName: string, env: Record<string, string> = {}) =>
  resolveSsoEndpoints({ env, config: CONFIG, profileName, configFile: "/c" });

describe("resolveSsoEndpoints", () => {
  it("is empty without overrides (the SDK's AWS endpoints)", () => {
    expect(resolve("plain")).toEqual({});
    expect(resolve("not-a-profile")).toEqual({});
  });

  it("takes the per-service env vars first", () => {
    const env = {
      AWS_ENDPOINT_URL_SSO_OIDC: "http://env-oidc:5",
      AWS_ENDPOINT_URL_SSO: "http://env-portal:6",
      AWS_ENDPOINT_URL: "http://env-all:7",
    };
    expect(resolve("with-services", env)).toEqual({
      oidc: "http://env-oidc:5",
      portal: "http://env-portal:6",
    });
  });

  it("then AWS_ENDPOINT_URL for the service without its own var", () => {
    const env = { AWS_ENDPOINT_URL_SSO_OIDC: "http://env-oidc:5", AWS_ENDPOINT_URL: "http://env-all:7" };
    expect(resolve("with-services", env)).toEqual({ oidc: "http://env-oidc:5", portal: "http://env-all:7" });
  });

  it("then the profile's [services] sub-sections", () => {
    expect(resolve("with-services")).toEqual({
      oidc: "http://services-oidc:2",
      portal: "http://services-portal:3",
    });
  });

  it("then the profile's endpoint_url", () => {
    expect(resolve("with-url")).toEqual({ oidc: "http://profile:1", portal: "http://profile:1" });
    expect(resolve("oidc-only-services")).toEqual({
      oidc: "http://partial-oidc:4",
      portal: "http://profile:1",
    });
  });

  it("ignores empty env values, as the SDK does", () => {
    expect(resolve("with-url", { AWS_ENDPOINT_URL_SSO: "", AWS_ENDPOINT_URL: "" })).toEqual({
      oidc: "http://profile:1",
      portal: "http://profile:1",
    });
  });

  it("turns everything off with AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true", () => {
    const env = { AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "true", AWS_ENDPOINT_URL: "http://env-all:7" };
    expect(resolve("with-services", env)).toEqual({});
    expect(resolve("with-services", { ...env, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "TRUE" })).toEqual({});
  });

  it("honours the profile's ignore_configured_endpoint_urls unless the env says false", () => {
    expect(resolve("ignoring", { AWS_ENDPOINT_URL: "http://env-all:7" })).toEqual({});
    expect(resolve("ignoring", { AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "false" })).toEqual({
      oidc: "http://services-oidc:2",
      portal: "http://services-portal:3",
    });
  });

  it("refuses a services name with no [services] section instead of falling back to AWS", () => {
    expect(() => resolve("dangling")).toThrow(ConfigError);
    expect(() => resolve("dangling")).toThrow(
      'Profile "dangling" uses services = nowhere, but there is no [services nowhere] section in /c.',
    );
    // Not consulted when the env already decides both.
    expect(resolve("dangling", { AWS_ENDPOINT_URL: "http://env-all:7" })).toEqual({
      oidc: "http://env-all:7",
      portal: "http://env-all:7",
    });
  });
});
