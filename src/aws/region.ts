import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { TerraformStack, Token } from 'cdktf';
import { Construct, IConstruct } from 'constructs';
import * as errors from '../errors';

const REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/;

/** Throws unless `region` is a literal AWS region name. */
export function checkRegion(where: string, region: string): string {
  if (Token.isUnresolved(region) || !REGION.test(region)) {
    throw errors.invalidAwsRegion(where, region);
  }
  return region;
}

/** The stack's default (un-aliased) AWS provider, if it has one. */
export function defaultAwsProvider(scope: Construct): AwsProvider | undefined {
  return findStackProvider(scope, (p) => p.alias === undefined);
}

/**
 * An AWS provider of the stack that holds `scope`. Providers are almost always declared on the
 * stack itself, so its direct children are searched first; walking the whole tree for every
 * bucket made synth time grow with the square of the number of containers.
 */
export function findStackProvider(scope: Construct, matches: (provider: AwsProvider) => boolean): AwsProvider | undefined {
  const stack = TerraformStack.of(scope);
  const isMatch = (c: IConstruct): c is AwsProvider => c instanceof AwsProvider && matches(c);
  return stack.node.children.find(isMatch) ?? stack.node.findAll().find(isMatch);
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
      throw errors.providerRegionMismatch(where, region, literalProviderRegion);
    }
    return region;
  }
  if (literalProviderRegion === undefined) {
    throw errors.unknownBucketRegion(where);
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
