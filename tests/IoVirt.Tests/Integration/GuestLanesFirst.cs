using Xunit.Abstractions;

[assembly: TestCollectionOrderer("IoVirt.Tests.Integration.GuestLanesFirst", "IoVirt.Tests")]

namespace IoVirt.Tests.Integration;

/// <summary>
/// Starts the two longest collections first, the QEMU guests and then the nested-KVM host
/// (see GuestCollections.cs), so the shorter ones fill the other core around them rather than
/// the QEMU guests running alone at the end of the parallel phase; the rest keep xUnit's own order.
/// </summary>
public sealed class GuestLanesFirst : ITestCollectionOrderer
{
    public IEnumerable<ITestCollection> OrderTestCollections(IEnumerable<ITestCollection> testCollections) =>
        testCollections.OrderBy(collection => collection.DisplayName switch
        {
            QemuCollection.Name => 0,
            NestedKvmCollection.Name => 1,
            _ => 2,
        }).ThenBy(collection => collection.UniqueID.GetHashCode()); // xUnit's default order
}
