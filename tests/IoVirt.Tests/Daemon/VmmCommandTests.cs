using IoVirt.Testing;

namespace IoVirt.Tests.Daemon;

/// <summary>`iovirt vmm` refuses bad input with one line and exit code 2, before it needs a hypervisor.</summary>
[Trait(Tier.Name, Tier.Integration)]
public sealed class VmmCommandTests
{
    [Theory]
    [InlineData("--kernel /nonexistent/vmlinuz", "/nonexistent/vmlinuz")]
    [InlineData("--kernel /etc/passwd", "is not a Linux bzImage")]
    [InlineData("--kernel /etc/passwd --memory 10M", "bad --memory '10M'")]
    [InlineData("--kernel /etc/passwd --vhost-user type=gpu,socket=/tmp/x", "unknown device type 'gpu'")]
    [InlineData("--kernel /etc/passwd --disk path=/tmp/x,queues=99", "bad --disk 'path=/tmp/x,queues=99'")]
    [InlineData("--kernel /etc/passwd --disk path=/tmp/x,ram=1G", "give either path= or ram=")]
    [InlineData("--kernel /etc/passwd --net tap=tap0,mac=01:00:00:00:00:01", "bad --net")]
    [InlineData("--memory 1G", "--kernel")]
    public void Bad_input_gets_one_line_and_exit_2(string arguments, string says)
    {
        using var vmm = DaemonProcess.Start(["vmm", .. arguments.Split(' ')]);
        Assert.Equal(2, vmm.WaitForExit());
        var lines = vmm.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(says, lines[0]);
        Assert.DoesNotContain(lines, line => line.TrimStart().StartsWith("at ", StringComparison.Ordinal));
        Assert.True(lines.Length <= 2, vmm.Stderr);
    }
}
