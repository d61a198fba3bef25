using System.Diagnostics;
using System.IO.Compression;
using System.Text.RegularExpressions;
using IoVirt.Testing;

namespace IoVirt.Tests.Integration;

/// <summary>
/// The packages work alone: the solution is packed into a folder feed, and two devices of a VMM
/// author's own are built outside the repository from that feed alone, with no project
/// reference, and served over vhost-user to QEMU guests: the README's example (a virtio-rng that
/// counts 0, 1, 2..., with tests/consumer/PatternRng.csproj), whose count the guest must read
/// from /dev/hwrng; and tests/consumer/EchoVsock (a virtio-vsock device with an echo service),
/// to which the guest connects through Linux's vsock transport and gets back what it wrote.
/// </summary>
[Collection(QemuCollection.Name)]
[Trait(Tier.Name, Tier.Integration)]
public sealed partial class PackageConsumerTests : IDisposable
{
    private static readonly string[] Packages =
    [
        "IoVirt.Abi", "IoVirt.Interop", "IoVirt.Memory", "IoVirt.Virtqueue", "IoVirt.Devices", "IoVirt.VhostUser", "IoVirt.Arbitration",
        "IoVirt.Sandbox", "IoVirt.Hypervisor", "IoVirt.Machine", "IoVirt.Backends.Blk", "IoVirt.Backends.Net", "IoVirt.Backends.Mux",
        "IoVirt.Backends.BlkLoad", "IoVirt.Backends.Rng", "IoVirt.Backends.Gpu", "IoVirt.Backends.GpuLoad",
    ];

    /// <summary>
    /// Reads 16 KiB from /dev/hwrng and counts where a byte is not the one before plus one (mod
    /// 256): the kernel's own entropy reads take bytes between ours, so a few breaks are expected;
    /// random bytes would break almost everywhere.
    /// </summary>
    private const string ReadPattern = """
        #!/bin/sh
        cat /sys/class/misc/hw_random/rng_current
        dd if=/dev/hwrng of=/tmp/r bs=1024 count=16 2>/dev/null
        od -An -v -tu1 /tmp/r | tr -s ' ' '\n' | grep -v '^$' > /tmp/b
        echo "PATTERN bytes=$(wc -l < /tmp/b) breaks=$(awk 'NR > 1 && $1 != (p + 1) % 256 { n++ } { p = $1 } END { print n + 0 }' /tmp/b)"
        """;

    /// <summary>
    /// A short text, then one of 6.4 KB, which the device must split over the guest's 4 KiB
    /// receive buffers and the guest must get back whole.
    /// </summary>
    private const string EchoOverVsock = """
        #!/bin/sh
        /bin/vsock-echo 1234 IOVIRT-VSOCK-ECHO-1
        long=$(seq -s . 1 1500)
        [ "$(/bin/vsock-echo 1234 "$long")" = "VSOCK-BACK $long" ] && echo "VSOCK-LONG-ECHOED ${#long}"
        """;

    private readonly string _directory = Directory.CreateTempSubdirectory("iovirt-consumer-").FullName;

    [Fact]
    public void Devices_built_from_the_packed_packages_alone_serve_qemu_guests()
    {
        var feed = Path.Combine(_directory, "feed");
        Run("dotnet", "pack", Path.Combine(QemuGuest.RepositoryRoot, "IoVirt.sln"), "-c", "Release", "-o", feed);
        var version = PackageVersion(feed);
        foreach (var package in Packages)
        {
            using var nupkg = ZipFile.OpenRead(Path.Combine(feed, $"{package}.{version}.nupkg"));
            var entries = nupkg.Entries.Select(e => e.FullName).ToArray();
            Assert.Contains("README.md", entries);
            Assert.Contains($"lib/net10.0/{package}.dll", entries);
            Assert.Contains($"lib/net10.0/{package}.xml", entries);
            Assert.True(File.Exists(Path.Combine(feed, $"{package}.{version}.snupkg")), $"{package} has no symbol package");
        }

        // The consumer, outside the repository (so none of its build files apply), restoring into
        // a packages folder of its own: IoVirt must come from the feed, the rest comes from the
        // machine's default source.
        var consumer = Path.Combine(_directory, "consumer");
        Directory.CreateDirectory(consumer);
        File.Copy(Path.Combine(QemuGuest.RepositoryRoot, "tests", "consumer", "PatternRng.csproj"), Path.Combine(consumer, "PatternRng.csproj"));
        var readme = File.ReadAllText(Path.Combine(QemuGuest.RepositoryRoot, "README.md"));
        File.WriteAllText(Path.Combine(consumer, "Program.cs"), CSharpExample().Match(readme).Groups["code"].Value);

        File.WriteAllText(Path.Combine(consumer, "nuget.config"), $"""
            <configuration>
              <packageSources>
                <add key="iovirt" value="{feed}" />
              </packageSources>
            </configuration>
            """);
        var packages = Path.Combine(_directory, "packages");
        void Build(string project) => Run("dotnet", "build", project, "-c", "Release", $"-p:IoVirtVersion={version}", "--packages", packages);
        Build(consumer);
        var restored = Directory.EnumerateDirectories(packages, "iovirt.*").ToArray();
        Assert.Contains(Path.Combine(packages, "iovirt.vhostuser"), restored);
        Assert.All(restored, package =>
        {
            using var metadata = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(package, version, ".nupkg.metadata")));
            Assert.Equal(feed, metadata.RootElement.GetProperty("source").GetString()!.TrimEnd('/'));
        });

        var (exit, output) = ServeToGuest(Path.Combine(consumer, "bin", "Release", "net10.0", "PatternRng.dll"), "vhost-user-rng-pci", ReadPattern);
        Assert.True(exit == 0, output);
        Assert.Contains("virtio_rng.0", output, StringComparison.Ordinal);
        var pattern = PatternLine().Match(output);
        Assert.True(pattern.Success, output);
        Assert.Equal(16384, int.Parse(pattern.Groups["bytes"].Value, System.Globalization.CultureInfo.InvariantCulture));
        Assert.InRange(int.Parse(pattern.Groups["breaks"].Value, System.Globalization.CultureInfo.InvariantCulture), 0, 64);

        // The vsock device, from the same feed; the guest's /bin/vsock-echo (tests/guest/vsock-echo.c)
        // connects to the host's port 1234 and prints what came back.
        var vsock = Path.Combine(_directory, "echo-vsock");
        Directory.CreateDirectory(vsock);
        foreach (var file in new[] { "EchoVsock.csproj", "Program.cs" })
        {
            File.Copy(Path.Combine(QemuGuest.RepositoryRoot, "tests", "consumer", "EchoVsock", file), Path.Combine(vsock, file));
        }

        File.Copy(Path.Combine(consumer, "nuget.config"), Path.Combine(vsock, "nuget.config"));
        Build(vsock);
        (exit, output) = ServeToGuest(Path.Combine(vsock, "bin", "Release", "net10.0", "EchoVsock.dll"), "vhost-user-vsock-pci", EchoOverVsock);
        Assert.True(exit == 0, output);
        Assert.Contains("VSOCK-BACK IOVIRT-VSOCK-ECHO-1", output, StringComparison.Ordinal);
        Assert.Contains("VSOCK-LONG-ECHOED 6392", output, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>The version the packages were packed at (Directory.Build.props sets it), from IoVirt.Abi's file name.</summary>
    private static string PackageVersion(string feed)
    {
        var abi = Directory.EnumerateFiles(feed, "IoVirt.Abi.*.nupkg").Select(Path.GetFileName).Single()!;
        return abi["IoVirt.Abi.".Length..^".nupkg".Length];
    }

    private static void Run(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        args.ToList().ForEach(start.ArgumentList.Add);
        using var process = Process.Start(start)!;
        var errors = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(10)), $"{program} {string.Join(' ', args)} did not finish");
        Assert.True(process.ExitCode == 0, $"{program} {string.Join(' ', args)} exited with {process.ExitCode}:\n{output}{errors.Result}");
    }

    /// <summary>
    /// Serves the consumer <paramref name="dll"/> to a QEMU guest as <paramref name="qemuDevice"/>
    /// while the guest runs <paramref name="script"/>; returns the guest's exit code and console.
    /// The consumer must stop once its stdin closes.
    /// </summary>
    private (int ExitCode, string Output) ServeToGuest(string dll, string qemuDevice, string script)
    {
        var socket = Path.Combine(_directory, Path.GetFileNameWithoutExtension(dll) + ".sock");
        using var device = Start(dll, socket);
        try
        {
            return QemuGuest.Run(script, ["-chardev", $"socket,id=dev0,path={socket}", "-device", $"{qemuDevice},chardev=dev0"]);
        }
        finally
        {
            device.StandardInput.Close();
            Assert.True(device.WaitForExit(20_000), $"{Path.GetFileName(dll)} did not stop when its stdin closed");
        }
    }

    /// <summary>Starts the consumer on <paramref name="socket"/> (it serves until its stdin closes) and waits for the socket.</summary>
    private static Process Start(string dll, string socket)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardInput = true };
        start.ArgumentList.Add(dll);
        start.ArgumentList.Add(socket);
        var process = Process.Start(start)!;
        Assert.True(SpinWait.SpinUntil(() => File.Exists(socket) || process.HasExited, 20_000) && File.Exists(socket), "the consumer did not listen");
        return process;
    }

    [GeneratedRegex(@"PATTERN bytes=(?<bytes>\d+) breaks=(?<breaks>\d+)")]
    private static partial Regex PatternLine();

    /// <summary>The README's one C# example (under "Using the packages").</summary>
    [GeneratedRegex(@"\n## Using the packages\n.*?```csharp\n(?<code>.*?)```", RegexOptions.Singleline)]
    private static partial Regex CSharpExample();
}
