import { startFakeIdc, type FakeIdc, type Lifetimes } from "../../src/fake-idc/index.js";

export interface GatewayIdc {
  idc: FakeIdc;
  /** The fake as a container sees it, through `--add-host host.docker.internal:host-gateway`. */
  endpoint: string;
}

/**
 * The fake IAM Identity Center listening on every interface, so that containers reach it on the
 * host gateway as well as the host on loopback; closing it goes onto `cleanups`.
 */
export async function startGatewayIdc(
  cleanups: (() => PromiseLike<unknown>)[],
  lifetimes?: Partial<Lifetimes>,
): Promise<GatewayIdc> {
  const idc = await startFakeIdc({ host: "0.0.0.0", ...(lifetimes === undefined ? {} : { lifetimes }) });
  cleanups.push(() => idc.close());
  return { idc, endpoint: `http://host.docker.internal:${new URL(idc.url).port}` };
}
