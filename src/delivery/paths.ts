/** Where things live inside a container. Part of the in-container contract: change with care. */

/**
 * Non-secret files of containers sso-docker did not start (Dev Container Feature, labelled
 * `docker run`, compose): written at image build time or by the first push, in the image or the
 * writable layer.
 */
export const STATIC_DIR = "/etc/sso-docker";
export const CONFIG_PATH = `${STATIC_DIR}/config`;
export const HELPER_PATH = `${STATIC_DIR}/credential-process`;
/** Their secret dir: the container's own /dev/shm, when its IPC namespace is private. */
export const SHM_SECRET_DIR = "/dev/shm/sso-docker";

/**
 * The tmpfs `sso-docker run` mounts (emptied at every start): the push puts the secrets, files of
 * the container's user, in a subdirectory of root's, mode 0711. The config and the helper sit on
 * a read-only volume mounted inside it, there from the container's first instruction
 * (run-volume.ts).
 */
export const RUN_DIR = "/run/sso-docker";
export const RUN_ETC_DIR = `${RUN_DIR}/etc`;
export const RUN_CONFIG_PATH = `${RUN_ETC_DIR}/config`;
export const RUN_HELPER_PATH = `${RUN_ETC_DIR}/credential-process`;
export const TMPFS_SECRET_DIR = `${RUN_DIR}/secrets`;

/** The static shared-credentials file, for tools without credential_process. */
export const CREDENTIALS_FILE_NAME = "credentials";
