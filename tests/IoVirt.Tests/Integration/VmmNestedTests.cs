using IoVirt.Testing;

namespace IoVirt.Tests.Integration;

/// <summary>
/// `iovirt vmm` on a real KVM: inside the nested-KVM host (tests/guest/run-l1.sh), it boots
/// Debian's kernel and the test initramfs as the L2 guest, with our devices. Each test's L2
/// script prints what the guest saw; the L1 script prints what the VMM and back ends said.
/// These run one at a time (NestedKvmCollection), so L1 (one CPU under TCG: run-l1.sh says why)
/// takes one of the host's cores, beside the QEMU guests' tests on the other.
/// </summary>
[Trait(Tier.Name, Tier.Integration)]
[Collection(NestedKvmCollection.Name)]
public sealed class VmmNestedTests
{
    /// <summary>
    /// L1 shell: appends <paramref name="l2Script"/> to the L2 initramfs as /test.sh (the kernel
    /// unpacks concatenated archives) and leaves the image in /tmp/l2.img.
    /// </summary>
    private static string L2Image(string l2Script) => $"""
        mkdir -p /tmp/l2extra
        cat > /tmp/l2extra/test.sh <<'L2'
        #!/bin/sh
        {l2Script}
        L2
        chmod +x /tmp/l2extra/test.sh
        (cd /tmp/l2extra && echo test.sh | cpio -o -H newc 2>/dev/null | gzip) > /tmp/l2extra.cpio
        cat /l2/initramfs.cpio.gz /tmp/l2extra.cpio > /tmp/l2.img
        """;

    /// <summary>
    /// L1 shell: waits up to 120 s for the VMM started in the background to end (its "VMM-EXIT"
    /// line in /tmp/vmm.out, which tee also streams to the console, so a run out of time still
    /// shows how far the guest got). If it has not, asks every iovirt for its state (SIGUSR1: the
    /// VMM prints its rings' indices, kick eventfds and undelivered interrupts, which tell a request
    /// the back end never took from a completion the guest was never told of) and prints each
    /// iovirt thread's state and kernel stack, which tells a vCPU stuck in our code from one inside
    /// KVM_RUN. The waits of a test's script add up to less than its time limit, so that report is printed.
    /// </summary>
    private static string WaitForVmmExit => WaitForConsole("VMM-EXIT") + "\n" + """
        grep -q VMM-EXIT /tmp/vmm.out || { kill -USR1 $(pidof iovirt); sleep 2; for p in $(pidof iovirt); do for t in /proc/$p/task/*; do
            echo "L1-THREAD $p ${t##*/} $(cat $t/comm) state=$(cut -d' ' -f3 $t/stat) wchan=$(cat $t/wchan)"; sed 's/^/L1-STACK /' $t/stack
        done; done; }
        """;

    /// <summary>
    /// L1 shell: `iovirt vmm` booting the L2 image with <paramref name="cpus"/> vCPUs. While L1 had
    /// two CPUs, L0's TCG emulation of nested SVM now and then lost an L2: a triple fault, or a
    /// vCPU that stopped taking interrupts, more often with two L2 vCPUs (about 1 run in 5) than
    /// with one; L1 now has one CPU (run-l1.sh). Each L2 vCPU slows the others on that one CPU,
    /// so one test holds every claim that needs a second vCPU and runs L2 with two; the others
    /// run it with one.
    /// </summary>
    private static string Vmm(int cpus) =>
        $"/payload/iovirt vmm --kernel /l2/vmlinuz --initrd /tmp/l2.img --cmdline 'console=ttyS0 quiet panic=-1 rdinit=/init' --memory 512M --cpus {cpus}";

    /// <summary>
    /// L1 shell: waits up to 120 s for <paramref name="marker"/> on the console of the VMM that
    /// tee writes to /tmp/vmm.out, or for the VMM's end: a guest lost before the marker fails the
    /// test at once, with its console, instead of running the script into its time limit.
    /// </summary>
    private static string WaitForConsole(string marker) =>
        $"i=0; while ! grep -q -e {marker} -e VMM-EXIT /tmp/vmm.out && [ $i -lt 600 ]; do sleep 0.2; i=$((i+1)); done";

    /// <summary>L2 shell: fio's verified random writes of 4 KiB to 1 MiB over 32 MiB of <paramref name="device"/>, with <paramref name="options"/>; prints its result lines.</summary>
    private static string FioVerify(string options = "", string device = "/dev/vda") =>
        $"fio --name=verify --filename={device} --rw=randwrite --bsrange=4k-1M --size=32M --direct=1 --ioengine=libaio --iodepth=8 " +
        $"--verify=crc32c --do_verify=1 --verify_fatal=1 {options} 2>&1 | grep -E \"err=|verify:\"";

    /// <summary>L1 shell: waits up to 30 s for a back end's socket to appear.</summary>
    private static string WaitForSocket(string path) => $"i=0; while [ ! -S {path} ] && [ $i -lt 150 ]; do sleep 0.2; i=$((i+1)); done";

    private static void AssertFioVerified(string output)
    {
        Assert.Matches("err= 0", output);
        Assert.DoesNotContain("err= 1", output);
    }

    [Fact]
    public void Boots_debian_with_two_vcpus_and_a_queue_per_vcpu_on_both_disks_and_fio_verifies()
    {
        // The one L2 with two vCPUs, so it holds every claim that needs a second one (ACPI brings
        // both up, XCR0, the halted vCPU's kick, a disk queue per vCPU both in-process and over
        // vhost-user): each such L2 risks the emulator's loss (see Vmm). The vhost-user disk is
        // the 256 MiB one (524288 sectors), the in-process one 64 MiB.
        var (exit, output) = NestedKvm.Run($"""
            {L2Image($"""
                echo "L2-CPUS $(grep -c ^processor /proc/cpuinfo)"
                echo "L2-XSAVE-WARNINGS $(dmesg | grep -c 'XSAVE consistency problem')"
                for d in /sys/block/vd*; do echo "L2-DISK $(cat $d/size) queues $(ls $d/mq | wc -l)"; done
                dev=$(for d in vda vdb; do [ "$(cat /sys/block/$d/size)" = 524288 ] && echo $d; done)
                {FioVerify("--numjobs=2 --offset_increment=32M --group_reporting", "/dev/$dev")}
                """)}
            truncate -s 256M /tmp/disk.img
            truncate -s 64M /tmp/in-process.img
            /payload/iovirt blk --socket /tmp/blk.sock --image /tmp/disk.img --queues 2 --sandbox seccomp &
            blk=$!
            {WaitForSocket("/tmp/blk.sock")}
            {Vmm(cpus: 2)} --vhost-user type=blk,socket=/tmp/blk.sock --disk path=/tmp/in-process.img
            echo "VMM-EXIT $?"
            kill $blk; wait $blk
            """);
        Assert.True(exit == 0, output);
        Assert.True(output.Contains("IOVIRT-GUEST-READY", StringComparison.Ordinal), output);
        Assert.True(output.Contains("L2-CPUS 2", StringComparison.Ordinal), output);

        // The guest's XCR0 as KVM sees it matches what the guest set (see PcMachine).
        Assert.True(output.Contains("L2-XSAVE-WARNINGS 0", StringComparison.Ordinal), output);

        // --queues 2 over vhost-user; --disk without queues= has one per vCPU.
        Assert.True(output.Contains("L2-DISK 524288 queues 2", StringComparison.Ordinal), output);
        Assert.True(output.Contains("L2-DISK 131072 queues 2", StringComparison.Ordinal), output);
        AssertFioVerified(output);
        Assert.True(output.Contains("VMM-EXIT 0", StringComparison.Ordinal), output);

        // The vCPU that did not reboot was halted inside KVM_RUN: only a kick ends its thread.
        Assert.False(output.Contains("did not stop", StringComparison.Ordinal), output);
    }

    [Fact]
    public void Fio_verifies_random_writes_on_a_qemu_storage_daemon_disk_with_4k_blocks()
    {
        // QEMU's own back end: libvhost-user answers GET_CONFIG from offset 0 whatever offset the
        // message names, so the block size (offset 20) shows the VMM reads config as QEMU does.
        var (exit, output) = NestedKvm.Run($"""
            {L2Image($"""
                echo "L2-BLOCK $(cat /sys/block/vda/queue/logical_block_size) $(cat /sys/block/vda/size)"
                {FioVerify()}
                """)}
            truncate -s 128M /tmp/disk.img
            /payload/qemu-storage-daemon --blockdev driver=file,node-name=disk,filename=/tmp/disk.img \
                --export type=vhost-user-blk,id=disk,node-name=disk,addr.type=unix,addr.path=/tmp/blk.sock,writable=on,logical-block-size=4096 &
            qsd=$!
            {WaitForSocket("/tmp/blk.sock")}
            : > /tmp/vmm.out
            ({Vmm(cpus: 1)} --vhost-user type=blk,socket=/tmp/blk.sock; echo "VMM-EXIT $?") 2>&1 | tee /tmp/vmm.out &
            {WaitForVmmExit}
            kill $qsd; wait $qsd
            """, hostPrograms: ["/usr/bin/qemu-storage-daemon"]);
        Assert.True(exit == 0, output);
        Assert.True(output.Contains("L2-BLOCK 4096 262144", StringComparison.Ordinal), output);
        AssertFioVerified(output);
        Assert.True(output.Contains("VMM-EXIT 0", StringComparison.Ordinal), output);
    }

    [Fact]
    public void In_process_disk_nic_and_rng_serve_fio_verify_pings_both_ways_and_hwrng()
    {
        // L2 waits on a TCP port until L1 has pinged it and connects, so both directions are
        // proven before fio starts; L1 tries again until L2's listener is up.
        var (exit, output) = NestedKvm.Run($"""
            {L2Image($"""
                echo "L2-RNG $(cat /sys/class/misc/hw_random/rng_current)"
                echo "L2-BYTES $(dd if=/dev/hwrng bs=64 count=1 2>/dev/null | wc -c)"
                ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0
                ping -c 3 -W 5 10.0.2.1 > /dev/null && echo L2-PING-OK
                echo L2-NET-UP
                echo "L2-GOT $(timeout 60 nc -l -p 5000)"
                echo "L2-QUEUES $(ls /sys/block/vda/mq | wc -l)"
                {FioVerify("--numjobs=2 --offset_increment=32M --group_reporting")}
                """)}
            tunctl -t tap0 > /dev/null
            ip addr add 10.0.2.1/24 dev tap0 && ip link set tap0 up
            truncate -s 256M /tmp/disk.img
            : > /tmp/vmm.out
            ({Vmm(cpus: 1)} --disk path=/tmp/disk.img --net tap=tap0 --rng; echo "VMM-EXIT $?") 2>&1 | tee /tmp/vmm.out &
            {WaitForConsole("L2-NET-UP")}
            kill -USR1 $(pidof iovirt)
            ping -c 3 -W 5 10.0.2.15 > /dev/null && echo L1-PING-OK
            i=0; until echo hello-from-l1 | nc 10.0.2.15 5000 2>/dev/null || grep -q VMM-EXIT /tmp/vmm.out || [ $i -ge 50 ]; do sleep 0.2; i=$((i+1)); done
            {WaitForVmmExit}
            /payload/iovirt vmm --kernel /l2/vmlinuz --disk path=/nonexistent.img
            echo "MISSING-IMAGE-EXIT $?"
            """, timeoutSeconds: 400);
        Assert.True(exit == 0, output);
        Assert.Contains("MISSING-IMAGE-EXIT 2", output);
        Assert.Contains("/nonexistent.img", output);
        Assert.True(output.Contains("L2-RNG virtio_rng.0", StringComparison.Ordinal), output);
        Assert.True(output.Contains("L2-BYTES 64", StringComparison.Ordinal), output);
        Assert.True(output.Contains("L2-PING-OK", StringComparison.Ordinal), output);
        Assert.True(output.Contains("L1-PING-OK", StringComparison.Ordinal), output);
        Assert.True(output.Contains("L2-GOT hello-from-l1", StringComparison.Ordinal), output);
        // --disk without queues= has one per vCPU (--cpus 1 here; the two-vCPU test has two).
        Assert.True(output.Contains("L2-QUEUES 1", StringComparison.Ordinal), output);

        // SIGUSR1's report of the running guest's devices: each one's rings, in use and routed.
        Assert.Matches("iovirt vmm: block queue 0: size \\d+, split, avail idx \\d+ .*; vector \\d+ live", output);
        Assert.Matches("iovirt vmm: net queue 1: size \\d+, split, .*; vector \\d+ live", output);
        Assert.Matches("iovirt vmm: entropy at 0x[0-9a-f]+: status 0x0f", output);
        Assert.Matches("verify: .*err= 0", output);
        Assert.True(output.Contains("VMM-EXIT 0", StringComparison.Ordinal), output);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Fio_rides_out_a_kill_9_and_restart_of_the_vhost_user_blk_back_end(bool packed)
    {
        // L1 reads the VMM's console (the guest's) to kill the back end while fio's writes run. A
        // split ring resumes from the guest's used ring and the heads the inflight buffer marks; a
        // packed one from the positions in the inflight buffer.
        var (exit, output) = NestedKvm.Run($"""
            {L2Image("""
                echo "L2-PACKED $(cut -c35 /sys/block/vda/device/features)"
                echo L2-FIO-START
                fio --name=restart --filename=/dev/vda --rw=randwrite --bs=16k --size=32M --direct=1 \
                    --ioengine=libaio --iodepth=16 --loops=3 --verify=crc32c --do_verify=1 --verify_fatal=1 2>&1 | grep -E "err=|verify:"
                """)}
            truncate -s 128M /tmp/disk.img
            /payload/iovirt blk --socket /tmp/blk.sock --image /tmp/disk.img --sandbox seccomp &
            blk=$!
            {WaitForSocket("/tmp/blk.sock")}
            : > /tmp/vmm.out
            ({Vmm(cpus: 1)} --vhost-user type=blk,socket=/tmp/blk.sock{(packed ? ",packed=on" : string.Empty)}; echo "VMM-EXIT $?") 2>&1 | tee /tmp/vmm.out &
            {WaitForConsole("L2-FIO-START")}
            sleep 3
            grep -q "restart: " /tmp/vmm.out && echo "L1: fio ended before the kill"
            kill -9 $blk; wait $blk; echo "L1: killed the back end during fio"
            /payload/iovirt blk --socket /tmp/blk.sock --image /tmp/disk.img --sandbox seccomp &
            blk=$!
            {WaitForVmmExit}
            kill $blk; wait $blk
            """, timeoutSeconds: 400);
        Assert.True(exit == 0, output);
        Assert.True(output.Contains($"L2-PACKED {(packed ? 1 : 0)}", StringComparison.Ordinal), output);
        Assert.True(output.Contains("L1: killed the back end during fio", StringComparison.Ordinal), output);
        Assert.False(output.Contains("L1: fio ended before the kill", StringComparison.Ordinal), output);
        Assert.True(output.Contains("reconnected to the back end on /tmp/blk.sock", StringComparison.Ordinal), output);
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(output, "restart: .*err= 0"), output);
        Assert.True(output.Contains("VMM-EXIT 0", StringComparison.Ordinal), output);
    }

    /// <summary>
    /// A guest that crashes: with reboot=t, Linux reboots by a triple fault (an empty IDT, then
    /// int3). The VMM ends with exit code 3 and says so, and L1's trace (tests/guest/init-l1)
    /// shows the shutdown exit with the guest's RIP, which KVM's reset took from the VMM.
    /// </summary>
    [Fact]
    public void A_triple_fault_ends_the_vmm_with_exit_code_3_and_l1_traces_where_it_happened()
    {
        var (exit, output) = NestedKvm.Run($"""
            {L2Image("echo L2-UP")}
            /payload/iovirt vmm --kernel /l2/vmlinuz --initrd /tmp/l2.img --cmdline 'console=ttyS0 quiet reboot=t rdinit=/init' --memory 256M
            echo "VMM-EXIT $?"
            """);
        Assert.True(exit == 0, output);
        Assert.Contains("L2-UP", output, StringComparison.Ordinal);
        Assert.Contains("vCPU 0 shut down (triple fault)", output, StringComparison.Ordinal);
        Assert.Contains("VMM-EXIT 3", output, StringComparison.Ordinal);
        Assert.Matches(@"L1-TRACE .*kvm_exit: vcpu 0 reason (shutdown|TRIPLE_FAULT) rip 0xffffffff[0-9a-f]{8}", output);
    }

    [Fact]
    public void Guest_reads_hwrng_from_a_vhost_user_back_end_through_virtio_pci()
    {
        var (exit, output) = NestedKvm.Run($"""
            {L2Image("""
                echo "L2-RNG $(cat /sys/class/misc/hw_random/rng_current)"
                echo "L2-BYTES $(dd if=/dev/hwrng bs=64 count=1 2>/dev/null | wc -c)"
                grep virtio /proc/interrupts
                """)}
            /payload/iovirt rng --socket /tmp/rng.sock --sandbox seccomp &
            rng=$!
            {WaitForSocket("/tmp/rng.sock")}
            {Vmm(cpus: 1)} --vhost-user type=rng,socket=/tmp/rng.sock
            echo "VMM-EXIT $?"
            kill $rng; wait $rng
            /payload/iovirt vmm --kernel /l2/vmlinuz --vhost-user type=rng,socket=/tmp/nobody.sock
            echo "UNANSWERED-EXIT $?"
            """);
        Assert.True(exit == 0, output);
        Assert.True(output.Contains("L2-RNG virtio_rng.0", StringComparison.Ordinal), output);
        Assert.True(output.Contains("L2-BYTES 64", StringComparison.Ordinal), output);
        Assert.True(output.Contains("VMM-EXIT 0", StringComparison.Ordinal), output);
        Assert.Matches("\"requests\":[1-9]", output);
        Assert.Contains("no vhost-user back end answers on /tmp/nobody.sock", output);
        Assert.Contains("UNANSWERED-EXIT 2", output);
    }
}
