"""The IPFS node snapshots are published to, as a Dagster resource (``ipfs``).

By default it follows the environment: ``IPFS_API_URL`` (handed on as a Dagster ``EnvVar``, read when a
run starts), ``IPFS_API_TIMEOUT`` and ``IPFS_REQUIRED``. ``IpfsNodeResource.off()`` is the variant with
no node at all, for tests and for deployments that keep snapshots local.
"""

from __future__ import annotations

import dagster as dg
from pydantic import Field

from benchmark_pipeline.config import IPFS_API_URL_ENV, Settings, environment_has
from benchmark_pipeline.lib.snapshots.node import DEFAULT_TIMEOUT_S, IpfsNodeConfig, KuboRpcClient, node_client


class IpfsNodeResource(dg.ConfigurableResource):
    """A kubo RPC API (kubo or js-ipfs) to publish snapshots to and fetch missing blocks from; optional."""

    enabled: bool = Field(default=True, description="false: no node, whatever api_url says (snapshots stay local)")
    api_url: str | None = Field(
        default=None,
        description=f"the node's RPC API, e.g. http://127.0.0.1:5001 (default: ${IPFS_API_URL_ENV}); unset: no node",
    )
    timeout_s: float = Field(default=DEFAULT_TIMEOUT_S, description="bound on every call to the node ($IPFS_API_TIMEOUT)")
    required: bool = Field(
        default=False,
        description="a missing or unreachable node fails the snapshot instead of leaving it unpublished ($IPFS_REQUIRED)",
    )

    @classmethod
    def off(cls) -> "IpfsNodeResource":
        return cls(enabled=False)

    @classmethod
    def from_env(cls) -> "IpfsNodeResource":
        """The node the environment names; the URL stays an ``EnvVar`` so its value is read at launch."""
        settings = Settings.from_env()
        return cls(
            api_url=dg.EnvVar(IPFS_API_URL_ENV) if environment_has(IPFS_API_URL_ENV) else None,
            timeout_s=settings.ipfs.timeout_s if settings.ipfs is not None else DEFAULT_TIMEOUT_S,
            required=settings.ipfs_required,
        )

    @property
    def is_required(self) -> bool:
        """Whether publishing must succeed (never for the ``off`` variant)."""
        return self.enabled and self.required

    def node_config(self) -> IpfsNodeConfig | None:
        url = (self.api_url or "").strip()
        if not self.enabled or not url:
            return None
        return IpfsNodeConfig(url, self.timeout_s)

    def client(self) -> KuboRpcClient | None:
        """The client for the configured node, or None (raises ``NodeError`` for a malformed URL)."""
        return node_client(self.node_config())


@dg.definitions
def ipfs_resources() -> dg.Definitions:
    return dg.Definitions(resources={"ipfs": IpfsNodeResource.from_env()})
