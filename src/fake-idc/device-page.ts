/** The few HTML pages a human sees in the browser during a demo login. No scripts, no external assets. */

function escapeHtml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, content: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${escapeHtml(title)} · fake IAM Identity Center</title>
<style>
body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#16191f}
h1{font-size:1.4rem}.code{font:600 1.8rem ui-monospace,monospace;letter-spacing:.15em}
button{font-size:1rem;padding:.5rem 1.4rem;margin-right:.6rem;border-radius:.3rem;border:1px solid #687078;cursor:pointer}
button[value=approve]{background:#ec7211;border-color:#ec7211;color:#fff}.note{color:#545b64}
</style></head><body><h1>${escapeHtml(title)}</h1>${content}
<p class="note">This is a local fake of AWS IAM Identity Center for tests and demos. No AWS account is involved.</p>
</body></html>`;
}

function decisionButtons(): string {
  return `<button type="submit" name="decision" value="approve">Allow access</button>
<button type="submit" name="decision" value="deny">Deny</button>`;
}

export type DevicePageState = "pending" | "approved" | "denied" | "used" | "expired" | "unknown";

const OUTCOME_TEXT: Record<Exclude<DevicePageState, "pending" | "unknown">, string> = {
  approved: "Request approved. You can close this window and return to your terminal.",
  used: "Request approved. You can close this window and return to your terminal.",
  denied: "Request denied. The login in your terminal will fail.",
  expired: "This code has expired. Start the login again.",
};

/** GET /device: enter a code, or approve/deny the one in the link. */
export function renderDevicePage(userCode: string | undefined, state: DevicePageState): string {
  if (userCode === undefined || state === "unknown") {
    const hint = userCode === undefined ? "" : `<p>Code <b>${escapeHtml(userCode)}</b> is not known.</p>`;
    return page(
      "Authorize request",
      `${hint}<form method="get" action="/device"><p><label>Code shown in your terminal:
<input name="user_code" autocomplete="off" required></label></p><button type="submit">Next</button></form>`,
    );
  }
  const code = `<p class="code">${escapeHtml(userCode)}</p>`;
  if (state !== "pending") return page("Authorize request", `${code}<p>${OUTCOME_TEXT[state]}</p>`);
  return page(
    "Authorize request",
    `<p>Check that this code matches the one in your terminal.</p>${code}
<form method="post" action="/device"><input type="hidden" name="user_code" value="${escapeHtml(userCode)}">
${decisionButtons()}</form>`,
  );
}

/** GET /authorize with outcome "prompt": the consent step of the PKCE flow. */
export function renderAuthorizePage(
  requestId: string,
  clientName: string,
  scopes: readonly string[],
): string {
  const scopeText = scopes.length > 0 ? scopes.map(escapeHtml).join(", ") : "default";
  return page(
    "Allow access?",
    `<p><b>${escapeHtml(clientName)}</b> asks to access your AWS accounts (scopes: ${scopeText}).</p>
<form method="post" action="/authorize"><input type="hidden" name="request" value="${escapeHtml(requestId)}">
${decisionButtons()}</form>`,
  );
}

export function renderErrorPage(message: string): string {
  return page("Request failed", `<p>${escapeHtml(message)}</p>`);
}

export function renderStartPage(url: string): string {
  return page(
    "AWS access portal",
    `<p>Point <code>sso_start_url</code> here and the OIDC and portal endpoints at <code>${escapeHtml(url)}</code>.</p>`,
  );
}
