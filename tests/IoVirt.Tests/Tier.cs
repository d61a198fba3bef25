namespace IoVirt.Tests;

/// <summary>
/// The test tiers, as an xunit trait. Unit tests run in this process alone. Integration tests
/// need more: another program (QEMU, DPDK's testpmd, our daemons, gcc, bash scripts), a network
/// namespace, a TAP or a FUSE mount, and what tests/setup.sh provides. The unit tier runs with
/// <c>bash tests/run.sh --fast</c>, or <c>dotnet test --filter "Tier!=Integration"</c>.
/// </summary>
public static class Tier
{
    public const string Name = "Tier";

    public const string Integration = "Integration";
}
