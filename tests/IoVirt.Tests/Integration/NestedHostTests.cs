using IoVirt.Testing;

namespace IoVirt.Tests.Integration;

/// <summary>
/// The nested-KVM host itself (tests/guest/run-l1.sh): when an L1 script outlives its limit, the
/// run ends with 124 and, since a wedged L1 says nothing on its console, with QEMU's monitor's
/// view of L1's CPUs (state, registers), which is what tells a halted L1 from one stuck in L2.
/// </summary>
[Trait(Tier.Name, Tier.Integration)]
[Collection(QemuCollection.Name)]
public sealed class NestedHostTests
{
    [Fact]
    public void A_script_past_its_limit_ends_the_run_with_124_and_the_state_of_L1s_cpus()
    {
        var (exit, output) = NestedKvm.Run("""
            echo L1-SCRIPT-SLEEPING
            sleep 600
            """, timeoutSeconds: 40);
        Assert.Equal(124, exit);
        Assert.Contains("L1-SCRIPT-SLEEPING", output, StringComparison.Ordinal);
        Assert.Contains("L1-MONITOR VM status: running", output, StringComparison.Ordinal);
        Assert.Contains("L1-MONITOR   CPU #1", output, StringComparison.Ordinal);
        Assert.Matches("L1-MONITOR RIP=[0-9a-f]{16} ", output);
        Assert.Contains("did not finish within 40s", output, StringComparison.Ordinal);
    }
}
