/**
 * Docker image references as registries and the engine accept them (the grammar of
 * github.com/distribution/reference): `[registry[:port]/]path[:tag][@digest]`. Path components are
 * lower case; tags may be upper case (`RELEASE.2025-04-22T22-12-26Z`); digests are
 * `algorithm:hex`.
 */
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
// A first component is a registry only with a `.`, a `:port`, as `localhost` or an IPv6 address;
// otherwise it is part of the (lower-case) path, as `docker pull` reads it.
const DOMAIN = `(?:localhost(?::[0-9]+)?|${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})+(?::[0-9]+)?|${DOMAIN_COMPONENT}:[0-9]+|\\[[0-9a-fA-F:]+\\](?::[0-9]+)?)`;
const PATH_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const TAG = "[\\w][\\w.-]{0,127}";
const DIGEST = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";

/** Matches a whole image reference; the registry part needs a `.`, a `:port` or is `localhost`. */
export const IMAGE_REFERENCE = new RegExp(
    `^(?:(?:${DOMAIN})/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*(?::${TAG})?(?:@${DIGEST})?$`,
);

/** Whether `ref` is an image reference a registry accepts (at most 255 characters for the name). */
export function isImageReference(ref: string): boolean {
    const name = ref.split("@")[0].replace(/:[\w][\w.-]{0,127}$/, "");
    return name.length <= 255 && IMAGE_REFERENCE.test(ref);
}
