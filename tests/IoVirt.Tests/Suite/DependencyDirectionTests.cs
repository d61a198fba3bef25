using System.Xml.Linq;
using IoVirt.Testing;

namespace IoVirt.Tests.Suite;

/// <summary>Project references point one way: abi ← src ← backends, and device models know no transport.</summary>
public sealed class DependencyDirectionTests
{
    [Fact]
    public void The_abi_references_no_other_project()
    {
        foreach (var project in Projects("abi"))
        {
            Assert.Empty(References(project));
        }
    }

    [Fact]
    public void No_package_in_src_depends_on_a_back_end()
    {
        var backends = Path.Combine(QemuGuest.RepositoryRoot, "backends") + Path.DirectorySeparatorChar;
        foreach (var project in Projects("src"))
        {
            Assert.DoesNotContain(ReferencedClosure(project), reference => reference.StartsWith(backends, StringComparison.Ordinal));
        }
    }

    [Theory]
    [InlineData("backends/Blk/IoVirt.Backends.Blk.csproj")]
    [InlineData("backends/Net/IoVirt.Backends.Net.csproj")]
    [InlineData("backends/Rng/IoVirt.Backends.Rng.csproj")]
    [InlineData("backends/Gpu/IoVirt.Backends.Gpu.csproj")]
    [InlineData("backends/Mux/IoVirt.Backends.Mux.csproj")]
    public void Device_back_ends_build_on_the_device_package_and_reach_no_transport(string project)
    {
        var closure = ReferencedClosure(Path.Combine(QemuGuest.RepositoryRoot, project)).Select(Path.GetFileName).ToHashSet();
        Assert.Contains("IoVirt.Devices.csproj", closure);
        Assert.DoesNotContain("IoVirt.VhostUser.csproj", closure);
    }

    [Fact]
    public void The_device_package_reaches_no_transport() =>
        Assert.DoesNotContain("IoVirt.VhostUser.csproj", ReferencedClosure(Path.Combine(QemuGuest.RepositoryRoot, "src", "IoVirt.Devices", "IoVirt.Devices.csproj")).Select(Path.GetFileName));

    private static IEnumerable<string> Projects(string folder) =>
        Directory.EnumerateFiles(Path.Combine(QemuGuest.RepositoryRoot, folder), "*.csproj", SearchOption.AllDirectories)
            .Where(path => !path.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal));

    /// <summary>The full paths of the projects <paramref name="project"/> references directly.</summary>
    private static IEnumerable<string> References(string project) =>
        XDocument.Load(project).Descendants("ProjectReference")
            .Select(reference => Path.GetFullPath(Path.Combine(Path.GetDirectoryName(project)!, reference.Attribute("Include")!.Value)));

    /// <summary>Every project <paramref name="project"/> depends on, directly or through others.</summary>
    private static HashSet<string> ReferencedClosure(string project)
    {
        var seen = new HashSet<string>();
        var pending = new Stack<string>(References(project));
        while (pending.TryPop(out var next))
        {
            if (seen.Add(next))
            {
                foreach (var reference in References(next))
                {
                    pending.Push(reference);
                }
            }
        }

        return seen;
    }
}
