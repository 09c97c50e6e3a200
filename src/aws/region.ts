import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { TerraformStack, Token } from 'cdktf';
import { Construct, IConstruct } from 'constructs';
import { ConfigurationError, show } from '../core/configuration-error';

const REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/;

/** Throws unless `region` is a literal AWS region name. */
export function checkRegion(where: string, region: string): string {
  if (Token.isUnresolved(region) || !REGION.test(region)) {
    throw invalidAwsRegion(where, region);
  }
  return region;
}

/** The stack's default (un-aliased) AWS provider, if it has one. */
export function defaultAwsProvider(scope: Construct): AwsProvider | undefined {
  return findStackProvider(scope, 'default', (p) => p.alias === undefined, true);
}

/** Providers found so far, per stack and lookup key. */
const found = new WeakMap<TerraformStack, Map<string, AwsProvider>>();

/**
 * An AWS provider of the stack that holds `scope`: the first direct child of the stack that
 * `matches`, else (when `deep`) the first in the whole tree. Looking through the stack's
 * children for every bucket made synth time grow with the square of the number of containers
 * (issue 13), so a provider once found is remembered under `key` and returned while it is
 * still in the stack (a provider added later cannot come before it: children keep their order).
 * Not finding one is not remembered: the provider may be added later.
 */
export function findStackProvider(
  scope: Construct,
  key: string,
  matches: (provider: AwsProvider) => boolean,
  deep: boolean,
): AwsProvider | undefined {
  const stack = TerraformStack.of(scope);
  const known = found.get(stack)?.get(key);
  if (known !== undefined && stillIn(stack, known)) {
    return known;
  }
  const isMatch = (c: IConstruct): c is AwsProvider => c instanceof AwsProvider && matches(c);
  const provider = stack.node.children.find(isMatch) ?? (deep ? stack.node.findAll().find(isMatch) : undefined);
  if (provider !== undefined) {
    const byKey = found.get(stack) ?? new Map<string, AwsProvider>();
    found.set(stack, byKey);
    byKey.set(key, provider);
  }
  return provider;
}

/** Whether `node` is still in the tree of `stack` (no construct on its way up was removed). */
function stillIn(stack: TerraformStack, node: IConstruct): boolean {
  let current = node;
  while (current !== stack) {
    const parent = current.node.scope;
    if (parent === undefined || parent.node.tryFindChild(current.node.id) !== current) {
      return false;
    }
    current = parent;
  }
  return true;
}

/**
 * The region resources made with `provider` live in: `region` when given (checked against the
 * provider's), else the provider's literal region.
 */
export function resolveRegion(where: string, provider: AwsProvider | undefined, region: string | undefined): string {
  const providerRegion = provider?.region;
  const literalProviderRegion = providerRegion !== undefined && !Token.isUnresolved(providerRegion) ? providerRegion : undefined;
  if (region !== undefined) {
    checkRegion(where, region);
    if (literalProviderRegion !== undefined && literalProviderRegion !== region) {
      throw providerRegionMismatch(where, region, literalProviderRegion);
    }
    return region;
  }
  if (literalProviderRegion === undefined) {
    throw unknownBucketRegion(where);
  }
  return checkRegion(where, literalProviderRegion);
}

/** The S3 endpoint of a region, as restic's repository strings use it. */
export function s3Endpoint(region: string): string {
  return `https://s3.${region}.amazonaws.com`;
}

/**
 * A `bucket_prefix` from a construct id: lowercase letters, digits and '-', at most 37
 * characters (Terraform appends a 26-character unique suffix).
 */
export function bucketPrefix(id: string, suffix: string): string {
  const base = id.toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/-+/g, '-').replace(/^-|-$/g, '') || 'backup';
  return `${base.slice(0, 36 - suffix.length)}-${suffix}`.replace(/-+/g, '-').slice(0, 36) + '-';
}

function invalidAwsRegion(where: string, value: string): ConfigurationError {
  return new ConfigurationError(
    where,
    `${show(value)} is not an AWS region name`,
    'pass a region such as "eu-west-1" or "us-east-2" (a literal string: the region shapes endpoints and is checked at synth time)',
  );
}

function providerRegionMismatch(where: string, region: string, providerRegion: string): ConfigurationError {
  return new ConfigurationError(
    where,
    `the region ${show(region)} differs from the region ${show(providerRegion)} of the AWS provider that would create the resources`,
    'pass the provider of that region, or leave `region` unset to use the provider\'s',
  );
}

function unknownBucketRegion(where: string): ConfigurationError {
  return new ConfigurationError(
    where,
    'the bucket\'s region is unknown: the stack has no default AwsProvider with a literal `region`, and no `region` was given',
    'pass `region: "eu-west-1"` (the region of the provider that creates the bucket), or give the stack\'s AwsProvider a literal region',
  );
}
