using IoVirt.Testing;

namespace IoVirt.Tests.Integration;

/// <summary>
/// The nested-KVM host itself (tests/guest/run-l1.sh): when an L1 script outlives its limit, the
/// run ends with 124 and, since a wedged L1 says nothing on its console, with QEMU's monitor's
/// view of L1's CPUs (state, registers), which is what tells a halted L1 from one stuck in L2.
/// When L1 itself resets, the run ends with 124 and the state each of its CPUs reset from. Both
/// run L1 with two CPUs, so each report is shown to cover every CPU.
/// </summary>
[Trait(Tier.Name, Tier.Integration)]
[Collection(NestedKvmCollection.Name)]
public sealed class NestedHostTests
{
    [Fact]
    public void A_script_past_its_limit_ends_the_run_with_124_and_the_state_of_L1s_cpus()
    {
        var (exit, output) = NestedKvm.Run("""
            echo L1-SCRIPT-SLEEPING
            sleep 600
            """, timeoutSeconds: 40, l1Cpus: 2);
        Assert.Equal(124, exit);
        Assert.Contains("L1-SCRIPT-SLEEPING", output, StringComparison.Ordinal);
        Assert.Contains("L1-MONITOR VM status: running", output, StringComparison.Ordinal);
        Assert.Contains("L1-MONITOR   CPU #1", output, StringComparison.Ordinal);
        Assert.Matches("L1-MONITOR RIP=[0-9a-f]{16} ", output);
        Assert.Contains("did not finish within 40s", output, StringComparison.Ordinal);
    }

    [Fact]
    public void A_triple_fault_of_L1_ends_the_run_with_124_and_the_state_L1s_cpus_faulted_in()
    {
        // Linux's "triple" reboot loads an empty IDT and raises an exception, in L1's own kernel.
        var (exit, output) = NestedKvm.Run("""
            echo triple > /sys/kernel/reboot/type
            echo "L1-REBOOT-TYPE $(cat /sys/kernel/reboot/type)"
            reboot -f
            sleep 60
            """, timeoutSeconds: 120, l1Cpus: 2);
        Assert.Equal(124, exit);
        Assert.Contains("L1-REBOOT-TYPE triple", output, StringComparison.Ordinal);
        Assert.Contains("L1-QEMU-LOG Triple fault", output, StringComparison.Ordinal);
        Assert.Contains("L1-QEMU-LOG CPU Reset (CPU 0)", output, StringComparison.Ordinal);
        Assert.Contains("L1-QEMU-LOG CPU Reset (CPU 1)", output, StringComparison.Ordinal);

        // A kernel address: the state it faulted in, not the firmware's after a reset.
        Assert.Matches("L1-QEMU-LOG RIP=ffffffff[0-9a-f]{8} ", output);
        Assert.Contains("L1 reset after", output, StringComparison.Ordinal);
    }
}
