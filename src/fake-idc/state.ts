import type { Clock } from "../runtime/clock.js";
import { normalizeUserCode, randomToken, randomUserCode, safeEqual } from "./secrets.js";
import type { DeviceAuthorizationEvent, Lifetimes } from "./types.js";

/** The identity side of the fake: client registrations, device codes, PKCE codes, sessions and tokens. */

export interface ClientRecord {
  clientId: string;
  clientSecret: string;
  clientName: string;
  scopes: string[];
  /** Empty when the client registered without naming grants (the device flow of older CLIs). */
  grantTypes: string[];
  redirectUris: string[];
  issuedAt: number;
  expiresAt: number;
}

export type DeviceStatus = "pending" | "approved" | "denied" | "used";

export interface DeviceRecord {
  deviceCode: string;
  userCode: string;
  clientId: string;
  startUrl: string;
  expiresAt: number;
  status: DeviceStatus;
  lastPollAt?: number;
}

export interface AuthRequest {
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
  scopes: string[];
  state: string | undefined;
}

interface AuthCodeRecord extends AuthRequest {
  expiresAt: number;
}

export interface SessionRecord {
  id: string;
  clientId: string;
  scopes: string[];
  revoked: boolean;
}

interface TokenRecord {
  sessionId: string;
  clientId: string;
  expiresAt: number;
  revoked: boolean;
}

export interface TokenSet {
  accessToken: string;
  expiresIn: number;
  refreshToken?: string;
}

/** PKCE codes are short-lived in every real server; ten minutes is plenty for a test. */
const AUTH_CODE_MS = 10 * 60_000;

export class IdentityState {
  readonly clients = new Map<string, ClientRecord>();
  private readonly devices = new Map<string, DeviceRecord>();
  private readonly byUserCode = new Map<string, DeviceRecord>();
  private readonly authCodes = new Map<string, AuthCodeRecord>();
  private readonly prompts = new Map<string, AuthRequest>();
  private readonly sessions = new Map<string, SessionRecord>();
  private readonly accessTokens = new Map<string, TokenRecord>();
  private readonly refreshTokens = new Map<string, TokenRecord>();
  private readonly deviceEvents: DeviceAuthorizationEvent[] = [];
  private readonly deviceWaiters: ((event: DeviceAuthorizationEvent) => void)[] = [];

  constructor(
    private readonly clock: Clock,
    readonly lifetimes: Lifetimes,
  ) {}

  registerClient(
    input: Pick<ClientRecord, "clientName" | "scopes" | "grantTypes" | "redirectUris">,
  ): ClientRecord {
    const now = this.clock.now();
    const client: ClientRecord = {
      ...input,
      clientId: randomToken("fake-client-", 16),
      clientSecret: randomToken("fake-secret-", 48),
      issuedAt: now,
      expiresAt: now + this.lifetimes.registrationSeconds * 1000,
    };
    this.clients.set(client.clientId, client);
    return client;
  }

  /** The client when the id is known, the secret matches and the registration is still valid. */
  authenticateClient(
    clientId: string | undefined,
    clientSecret: string | undefined,
  ): ClientRecord | undefined {
    const client = clientId === undefined ? undefined : this.clients.get(clientId);
    if (!client || clientSecret === undefined || !safeEqual(client.clientSecret, clientSecret))
      return undefined;
    return this.clock.now() < client.expiresAt ? client : undefined;
  }

  /** A client that named its grants may only use those (real servers refuse the others). */
  allowsGrant(client: ClientRecord, grant: string): boolean {
    if (client.grantTypes.length === 0) return true;
    const short = grant.replace("urn:ietf:params:oauth:grant-type:", "");
    return client.grantTypes.some(
      (g) => g === grant || g.replace("urn:ietf:params:oauth:grant-type:", "") === short,
    );
  }

  startDeviceAuthorization(client: ClientRecord, startUrl: string, verificationUri: string): DeviceRecord {
    let userCode = randomUserCode();
    while (this.byUserCode.has(normalizeUserCode(userCode))) userCode = randomUserCode();
    const device: DeviceRecord = {
      deviceCode: randomToken("fake-device-", 32),
      userCode,
      clientId: client.clientId,
      startUrl,
      expiresAt: this.clock.now() + this.lifetimes.deviceCodeSeconds * 1000,
      status: "pending",
    };
    this.devices.set(device.deviceCode, device);
    this.byUserCode.set(normalizeUserCode(userCode), device);
    const event: DeviceAuthorizationEvent = {
      userCode,
      clientId: client.clientId,
      startUrl,
      verificationUriComplete: `${verificationUri}?user_code=${encodeURIComponent(userCode)}`,
      expiresAt: device.expiresAt,
    };
    const waiter = this.deviceWaiters.shift();
    if (waiter) waiter(event);
    else this.deviceEvents.push(event);
    return device;
  }

  /** Each device authorization is handed out once, oldest first; waits for the next if none is queued. */
  nextDeviceAuthorization(): Promise<DeviceAuthorizationEvent> {
    const queued = this.deviceEvents.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve) => this.deviceWaiters.push(resolve));
  }

  deviceByCode(deviceCode: string): DeviceRecord | undefined {
    return this.devices.get(deviceCode);
  }

  deviceByUserCode(userCode: string): DeviceRecord | undefined {
    return this.byUserCode.get(normalizeUserCode(userCode));
  }

  /** The user's answer on the verification page; a code is decided once. Returns the resulting status. */
  decideDevice(userCode: string, approve: boolean): DeviceStatus | "unknown" | "expired" {
    const device = this.deviceByUserCode(userCode);
    if (!device) return "unknown";
    if (this.isExpired(device)) return "expired";
    if (device.status === "pending") device.status = approve ? "approved" : "denied";
    return device.status;
  }

  isExpired(record: { expiresAt: number }): boolean {
    return this.clock.now() >= record.expiresAt;
  }

  /** Records a poll; true when it came sooner than the interval after the previous one. */
  pollTooSoon(device: DeviceRecord): boolean {
    const now = this.clock.now();
    const last = device.lastPollAt;
    device.lastPollAt = now;
    return last !== undefined && now - last < this.lifetimes.pollIntervalSeconds * 1000;
  }

  /** Parks an authorize request behind the consent page; the id goes into the page's form. */
  parkAuthorizeRequest(request: AuthRequest): string {
    const id = randomToken("", 16);
    this.prompts.set(id, request);
    return id;
  }

  takeAuthorizeRequest(id: string): AuthRequest | undefined {
    const request = this.prompts.get(id);
    this.prompts.delete(id);
    return request;
  }

  createAuthCode(request: AuthRequest): string {
    const code = randomToken("fake-code-", 24);
    this.authCodes.set(code, { ...request, expiresAt: this.clock.now() + AUTH_CODE_MS });
    return code;
  }

  /** Codes are single use: any exchange attempt consumes them, right or wrong. */
  takeAuthCode(code: string): AuthRequest | undefined {
    const record = this.authCodes.get(code);
    this.authCodes.delete(code);
    return record && !this.isExpired(record) ? record : undefined;
  }

  /** Starts a session. Refresh tokens come only with scopes, as with the real service (legacy logins get none). */
  issueSession(client: ClientRecord, scopes: string[]): TokenSet {
    const session: SessionRecord = {
      id: randomToken("", 12),
      clientId: client.clientId,
      scopes,
      revoked: false,
    };
    this.sessions.set(session.id, session);
    const refreshable = scopes.length > 0 && this.allowsGrant(client, "refresh_token");
    return this.issueTokens(session, refreshable);
  }

  /** Rotates: the old refresh token stops working, the session gets a fresh pair. */
  refresh(client: ClientRecord, refreshToken: string): TokenSet | undefined {
    const record = this.refreshTokens.get(refreshToken);
    const session = record && this.sessions.get(record.sessionId);
    if (!record || !session || !this.isLive(record) || record.clientId !== client.clientId) return undefined;
    record.revoked = true;
    return this.issueTokens(session, true);
  }

  /** The session behind a live access token. */
  sessionFor(accessToken: string): SessionRecord | undefined {
    const record = this.accessTokens.get(accessToken);
    return record && this.isLive(record) ? this.sessions.get(record.sessionId) : undefined;
  }

  /** Ends the session: every access and refresh token it issued stops working. */
  revokeSession(sessionId: string): void {
    const session = this.sessions.get(sessionId);
    if (session) session.revoked = true;
    for (const record of [...this.accessTokens.values(), ...this.refreshTokens.values()]) {
      if (record.sessionId === sessionId) record.revoked = true;
    }
  }

  /** Access tokens lapse; refresh tokens still work (an SSO session that can be refreshed). */
  expireAccessTokens(): void {
    const now = this.clock.now();
    for (const record of this.accessTokens.values()) record.expiresAt = Math.min(record.expiresAt, now);
  }

  /** Every session ends: only a new login helps. */
  revokeAllSessions(): void {
    for (const id of this.sessions.keys()) this.revokeSession(id);
  }

  private isLive(record: TokenRecord): boolean {
    const session = this.sessions.get(record.sessionId);
    return !record.revoked && !session?.revoked && !this.isExpired(record);
  }

  private issueTokens(session: SessionRecord, refreshable: boolean): TokenSet {
    const now = this.clock.now();
    const accessToken = randomToken("aoa", 48);
    const base = { sessionId: session.id, clientId: session.clientId, revoked: false };
    this.accessTokens.set(accessToken, {
      ...base,
      expiresAt: now + this.lifetimes.accessTokenSeconds * 1000,
    });
    const tokens: TokenSet = { accessToken, expiresIn: this.lifetimes.accessTokenSeconds };
    if (refreshable) {
      const refreshToken = randomToken("aor", 48);
      this.refreshTokens.set(refreshToken, {
        ...base,
        expiresAt: now + this.lifetimes.refreshTokenSeconds * 1000,
      });
      tokens.refreshToken = refreshToken;
    }
    return tokens;
  }
}
