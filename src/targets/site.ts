/** What kind of place a copy is kept in. */
export enum SiteKind {
  /** The Docker host (or its building/data centre) that runs the protected container. */
  DOCKER_HOST = 'docker-host',
  /** An AWS region. */
  AWS_REGION = 'aws-region',
  /** Any other named place: a data centre, an office, a provider's region. */
  NAMED = 'named',
}

/**
 * Where a copy lives. The "1" of 3-2-1 asks for one copy at a site other than the one that
 * runs the container, so that a fire, a flood or a lost account does not take every copy.
 */
export class Site {
  /** The site of the protected container itself. A local target defaults to it. */
  public static dockerHost(name: string = 'docker-host'): Site {
    return new Site(SiteKind.DOCKER_HOST, name);
  }

  /** An AWS region, e.g. `Site.awsRegion('eu-central-1')`. */
  public static awsRegion(region: string): Site {
    return new Site(SiteKind.AWS_REGION, region);
  }

  /** Another named place, e.g. `Site.named('office-nas')` for a NAS in another building. */
  public static named(name: string): Site {
    return new Site(SiteKind.NAMED, name);
  }

  private constructor(
    /** The kind of place. */
    public readonly kind: SiteKind,
    /** The place's name; two sites are the same when kind and name are. */
    public readonly name: string,
  ) {}

  /** A stable text form, e.g. `aws-region:eu-central-1`. */
  public get id(): string {
    return `${this.kind}:${this.name}`;
  }

  /** Whether both are the same place. */
  public isSameAs(other: Site): boolean {
    return this.id === other.id;
  }
}
