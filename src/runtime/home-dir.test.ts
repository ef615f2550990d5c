import { describe, expect, it } from "vitest";
import { userHome } from "./home-dir.js";
import { resolveAwsPaths } from "./paths.js";

const noHome = () => "/from/passwd";

describe("userHome", () => {
  it("on Windows takes USERPROFILE over HOME, as Python 3.8+ (the AWS CLI v2) and Go's os.UserHomeDir (docker) do", () => {
    // Git Bash and MSYS set HOME; the AWS CLI and docker still read USERPROFILE.
    const env = { HOME: "/c/Users/me", USERPROFILE: "C:\\Users\\me" };
    expect(userHome(env, "win32", noHome)).toBe("C:\\Users\\me");
  });
  it("on Windows falls back to HOMEDRIVE + HOMEPATH, then the OS, never to HOME", () => {
    expect(userHome({ HOME: "/c/x", HOMEDRIVE: "D:", HOMEPATH: "\\Users\\me" }, "win32", noHome)).toBe(
      "D:\\Users\\me",
    );
    expect(userHome({ HOME: "/c/x" }, "win32", () => "C:\\Users\\os")).toBe("C:\\Users\\os");
  });
  it("elsewhere takes HOME, and the password database when HOME is unset or empty", () => {
    expect(userHome({ HOME: "/home/me", USERPROFILE: "/nope" }, "linux", noHome)).toBe("/home/me");
    expect(userHome({ HOME: "/Users/me" }, "darwin", noHome)).toBe("/Users/me");
    expect(userHome({ USERPROFILE: "/nope" }, "linux", noHome)).toBe("/from/passwd");
    expect(userHome({ HOME: "" }, "darwin", noHome)).toBe("/from/passwd");
  });
});

describe("resolveAwsPaths", () => {
  it("puts the AWS files under %USERPROFILE%\\.aws on Windows, with Windows separators", () => {
    const paths = resolveAwsPaths({ HOME: "/c/Users/me", USERPROFILE: "C:\\Users\\me" }, "win32", noHome);
    expect(paths).toEqual({
      home: "C:\\Users\\me",
      configFile: "C:\\Users\\me\\.aws\\config",
      credentialsFile: "C:\\Users\\me\\.aws\\credentials",
      ssoCacheDir: "C:\\Users\\me\\.aws\\sso\\cache",
      cliCacheDir: "C:\\Users\\me\\.aws\\cli\\cache",
    });
  });
  it("expands ~ in AWS_CONFIG_FILE against that home, with either separator on Windows", () => {
    const env = {
      USERPROFILE: "C:\\Users\\me",
      AWS_CONFIG_FILE: "~\\cfg\\aws",
      AWS_SHARED_CREDENTIALS_FILE: "~/c",
    };
    const paths = resolveAwsPaths(env, "win32", noHome);
    expect(paths.configFile).toBe("C:\\Users\\me\\cfg\\aws");
    expect(paths.credentialsFile).toBe("C:\\Users\\me\\c");
    expect(resolveAwsPaths({ HOME: "/home/me", AWS_CONFIG_FILE: "~/x" }, "linux", noHome).configFile).toBe(
      "/home/me/x",
    );
  });
});
