/** The SSO session a profile signs in through: the unit of login, token cache and refresh. */
export interface SessionRef {
  kind: "sso-session" | "legacy";
  /** `[sso-session NAME]`; undefined for legacy profiles (keyed by start URL instead). */
  sessionName: string | undefined;
  startUrl: string;
  ssoRegion: string;
  scopes: readonly string[];
  /**
   * `sso_registration_scopes` exactly as configured (undefined when absent): the AWS CLI
   * keys its registration cache on this, so sharing registrations needs the same value.
   */
  configuredScopes?: readonly string[] | undefined;
  /** The profile the user named, for messages and hints. */
  profileName: string;
  /** Set when the user named the session itself (`login --sso-session`): hints then say so. */
  namedBySession?: boolean | undefined;
}

export const DEFAULT_SCOPES = ["sso:account:access"] as const;

/** How to name the session to a user: its sso-session name, else its start URL. */
export function describeSession(session: SessionRef): string {
  return session.sessionName ? `sso-session ${session.sessionName}` : session.startUrl;
}

export function loginHint(session: SessionRef): string {
  return session.namedBySession && session.sessionName
    ? `sso-docker login --sso-session ${session.sessionName}`
    : `sso-docker login --profile ${session.profileName}`;
}
