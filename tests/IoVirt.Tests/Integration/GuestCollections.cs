namespace IoVirt.Tests.Integration;

// How the tests that boot guests share the machine. Under TCG each guest's vCPU takes a core,
// so each of these collections runs its tests one at a time; the QEMU guests and the nested-KVM
// host (one L1 CPU) each take one core beside the other collections, which keeps both of the
// machine's cores busy (run one after another and alone, these two took about 15.5 of the
// suite's 22.4 minutes of tests).

/// <summary>QEMU guests (TCG), one at a time.</summary>
[CollectionDefinition(Name)]
public sealed class QemuCollection
{
    public const string Name = "QEMU guests";
}

/// <summary>The nested-KVM host (tests/guest/run-l1.sh), one L1 guest at a time.</summary>
[CollectionDefinition(Name)]
public sealed class NestedKvmCollection
{
    public const string Name = "Nested KVM";
}

/// <summary>Live migration, alone on the machine: it bounds how long the guest is silent.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MigrationCollection
{
    public const string Name = "Live migration";
}
