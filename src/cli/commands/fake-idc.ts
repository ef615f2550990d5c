import { startFakeIdc } from "../../fake-idc/index.js";

/** `sso-docker fake-idc`: the local fake IAM Identity Center in the foreground until Ctrl-C. */
export async function runFakeIdc(flags: {
  host?: string;
  port?: string;
  autoApprove?: boolean;
}): Promise<void> {
  const idc = await startFakeIdc({
    host: flags.host ?? "127.0.0.1",
    port: Number(flags.port ?? "0"),
    autoApprove: flags.autoApprove ?? false,
  });
  process.stdout.write(
    `Fake IAM Identity Center listening at ${idc.url}\n` +
      `Point the AWS SDKs and sso-docker at it with:\n` +
      `  export AWS_ENDPOINT_URL_SSO_OIDC=${idc.url} AWS_ENDPOINT_URL_SSO=${idc.url} AWS_ENDPOINT_URL_STS=${idc.url}\n` +
      `Device sign-ins are approved at ${idc.url}/device (Ctrl-C to stop).\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => {
      resolve();
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  await idc.close();
}
