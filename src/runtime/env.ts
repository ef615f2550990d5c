/** The process environment as a plain read-only map, passed in rather than read globally. */
export type Env = Readonly<Record<string, string | undefined>>;
