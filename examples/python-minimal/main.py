#!/usr/bin/env python
"""The smallest example, in Python: examples/s3-compatible/main.ts with the Python bindings.

One Docker host, no AWS account. Gitea (its repositories and SQLite database on one volume)
is stopped for a moment every night at 02:00 and backed up to a local disk and to an existing
S3-compatible bucket at another provider (Wasabi, eu-central-2), whose Object Lock keeps every
object 400 days. That bucket is created, with Object Lock and a 400-day default retention, on
Wasabi's side: nothing here creates it. The 3-2-1-1-0 pack refuses the synth if the topology
falls short.

    pip install -r requirements.txt
    export TF_VAR_restic_password="$(openssl rand -base64 32)"   # keep a copy off this host
    export TF_VAR_wasabi_access_key_id=... TF_VAR_wasabi_secret_access_key=...
    cdktf deploy git-host
"""
from cdktf import App, Aspects, TerraformStack, TerraformVariable
from cdktf_cdktf_provider_docker.provider import DockerProvider
from constructs import Construct

from cdktf_container_backup import (
    BackupOptions,
    ComplianceLevel,
    ContainerVolume,
    Medium,
    PortMapping,
    ProtectedContainer,
    Quiesce,
    RepositoryPassword,
    Retention,
    Schedule,
    Site,
    StorageTarget,
    ThreeTwoOneChecks,
)


class GitHostStack(TerraformStack):
    """One Docker host: Gitea and its backup sidecar."""

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        DockerProvider(self, "docker")

        access_key_id = TerraformVariable(
            self,
            "wasabi_access_key_id",
            type="string",
            sensitive=True,
            description="Access key id of the Wasabi sub-user that may write to the backup bucket.",
        )
        secret_access_key = TerraformVariable(
            self,
            "wasabi_secret_access_key",
            type="string",
            sensitive=True,
            description="Its secret key (reaches the sidecar as a file).",
        )

        ProtectedContainer(
            self,
            "git",
            image="gitea/gitea:1.22",
            volumes=[ContainerVolume(name="gitea-data", container_path="/data")],
            ports=[PortMapping(container_port=3000), PortMapping(container_port=22, host_port=2222)],
            backup=BackupOptions(
                schedule=Schedule.daily(hour=2),
                retention=Retention.gfs(daily=7, weekly=4, monthly=12),
                # Gitea keeps its SQLite database next to the repositories: stop it for the
                # backup; it is always started again.
                quiesce=Quiesce.stop(),
                # Kept off this host too (the compliance rule PasswordEscrowed): TF_VAR_restic_password
                # comes from there at deploy time.
                password=RepositoryPassword.from_variable(
                    self, "restic_password", escrowed_in="the ops team password manager, item git-host restic"
                ),
                targets=[
                    StorageTarget.local_path(host_path="/mnt/backup-disk/git", medium=Medium.DISK),
                    StorageTarget.s3_compatible(
                        name="wasabi",
                        endpoint="https://s3.eu-central-2.wasabisys.com",
                        region="eu-central-2",
                        bucket="acme-git-backups",
                        access_key_id=access_key_id.string_value,
                        secret_access_key=secret_access_key.string_value,
                        site=Site.named("wasabi-eu-central-2"),
                        immutable_retention_days=400,
                    ),
                ],
            ),
        )


app = App()
GitHostStack(app, "git-host")
# Refuse the synth if the topology is not 3-2-1-1-0.
Aspects.of(app).add(ThreeTwoOneChecks(level=ComplianceLevel.THREE_TWO_ONE_ONE_ZERO))
app.synth()
