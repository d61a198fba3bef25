using IoVirt.Fuzz;
using IoVirt.Tests.Gpu;

namespace IoVirt.Tests.Fuzz;

/// <summary>
/// The gpu-command-3d target in-process, on the host's renderer (libvirglrenderer1 and Mesa, from
/// tests/setup.sh): the seeds run as a guest would, and mutations of them never throw, never
/// crash the renderer and leave nothing held after a reset.
/// </summary>
[Collection(VirglCollection.Name)]
[Trait(Tier.Name, Tier.Integration)]
public class Gpu3dFuzzSmokeTests
{
    [Fact]
    public void The_seeds_are_accepted_as_a_guest_would_send_them()
    {
        var seeds = Gpu3dCommandTarget.Seeds().ToArray();
        Assert.Equal([10, 2, 7], seeds.Select(seed => Gpu3dCommandTarget.Run(seed)));
    }

    [Fact]
    public void Mutated_command_sequences_never_throw() =>
        GpuFuzzSmokeTests.RunMutations(Gpu3dCommandTarget.Seeds().ToArray(), input => Gpu3dCommandTarget.Run(input), 0x69_0003);
}
