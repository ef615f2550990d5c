/** Where things live inside a container. Part of the in-container contract: change with care. */

/** Non-secret files, in the writable layer. */
export const STATIC_DIR = "/etc/sso-docker";
export const CONFIG_PATH = `${STATIC_DIR}/config`;
export const HELPER_PATH = `${STATIC_DIR}/credential-process`;

/** Secret dir when `sso-docker run` mounted a tmpfs there (`--tmpfs /run/sso-docker`). */
export const TMPFS_SECRET_DIR = "/run/sso-docker";
/** Secret dir otherwise: the container's own /dev/shm, when its IPC namespace is private. */
export const SHM_SECRET_DIR = "/dev/shm/sso-docker";

/** The static shared-credentials file, for tools without credential_process. */
export const CREDENTIALS_FILE_NAME = "credentials";
