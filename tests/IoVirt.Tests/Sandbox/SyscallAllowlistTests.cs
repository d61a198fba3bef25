using System.Text.RegularExpressions;
using IoVirt.Sandbox;

namespace IoVirt.Tests.Sandbox;

/// <summary>The allowlist's numbers are the kernel's, and the calls that would undo the sandbox are not on it.</summary>
public partial class SyscallAllowlistTests
{
    private const string Header = "/usr/include/x86_64-linux-gnu/asm/unistd_64.h";

    [Fact]
    public void Every_rule_names_its_call_by_the_number_the_kernel_headers_give()
    {
        var numbers = File.ReadLines(Header)
            .Select(line => Define().Match(line))
            .Where(match => match.Success)
            .ToDictionary(match => match.Groups[1].Value, match => uint.Parse(match.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture));
        foreach (var rule in SyscallAllowlist.For(1))
        {
            Assert.True(numbers.TryGetValue(rule.Name, out var number), $"{rule.Name} is not in {Header}");
            Assert.Equal(number, rule.Number);
        }
    }

    [Theory]
    [InlineData("execve")]
    [InlineData("execveat")]
    [InlineData("socket")]
    [InlineData("connect")]
    [InlineData("bind")]
    [InlineData("mount")]
    [InlineData("umount2")]
    [InlineData("pivot_root")]
    [InlineData("chroot")]
    [InlineData("unshare")]
    [InlineData("setns")]
    [InlineData("ptrace")]
    [InlineData("process_vm_readv")]
    [InlineData("setuid")]
    [InlineData("setresuid")]
    [InlineData("chmod")]
    [InlineData("fchown")]
    [InlineData("init_module")]
    [InlineData("bpf")]
    [InlineData("perf_event_open")]
    [InlineData("seccomp")]
    [InlineData("tkill")]
    public void A_call_that_could_undo_the_sandbox_is_not_allowed(string name)
    {
        Assert.DoesNotContain(SyscallAllowlist.For(1), rule => rule.Name == name);
    }

    [Fact]
    public void Signals_go_only_to_the_process_itself_and_clone_makes_no_namespace()
    {
        var rules = SyscallAllowlist.For(777).ToDictionary(rule => rule.Name);
        Assert.Equal(new SyscallCheck.ArgumentIn(0, [777u]).Values, ((SyscallCheck.ArgumentIn)rules["kill"].Check).Values);
        Assert.Equal([777u], ((SyscallCheck.ArgumentIn)rules["tgkill"].Check).Values);
        Assert.Equal(SyscallAllowlist.NewNamespaceFlags, ((SyscallCheck.ArgumentWithout)rules["clone"].Check).Mask);
        Assert.IsType<SyscallCheck.Refused>(rules["clone3"].Check);
    }

    [Fact]
    public void Only_a_daemon_that_connects_out_may_make_internet_sockets_and_connect_them()
    {
        Assert.DoesNotContain(SyscallAllowlist.For(1, connects: false), rule => rule.Name is "socket" or "connect");
        var rules = SyscallAllowlist.For(1, connects: true).ToDictionary(rule => rule.Name);
        Assert.Equal([2u, 10u], ((SyscallCheck.ArgumentIn)rules["socket"].Check).Values);
        Assert.Contains("connect", rules.Keys);
        Assert.DoesNotContain("bind", rules.Keys);
    }

    [GeneratedRegex(@"^#define __NR_(\w+) (\d+)$")]
    private static partial Regex Define();
}
