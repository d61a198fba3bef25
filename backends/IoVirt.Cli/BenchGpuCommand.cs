using System.CommandLine;
using System.Globalization;
using IoVirt.Backends.Gpu.Load;

namespace IoVirt.Cli;

/// <summary><c>iovirt bench-gpu</c>: the VM-free frame-rate benchmark for any vhost-user GPU back end.</summary>
internal static class BenchGpuCommand
{
    public static Command Create()
    {
        var socket = CommandLine.Text("--socket", "PATH", "the back end's socket; required");
        var width = CommandLine.Int("--width", "PIXELS", "frame width (default 1280)", 1, 4096);
        var height = CommandLine.Int("--height", "PIXELS", "frame height (default 800)", 1, 4096);
        var runtime = CommandLine.Int("--runtime", "S", "measured seconds (default 5)", 1, 3600);
        var ramp = CommandLine.Int("--ramp", "S", "seconds of frames before measuring (default 1)", 0, 3600);
        var json = CommandLine.Flag("--json", "print the result as JSON");
        var command = new DocumentedCommand("bench-gpu", "Frame-rate benchmark for any vhost-user GPU back end.")
        {
            Details = """
                Connects to a vhost-user GPU back end (iovirt gpu, QEMU's vhost-user-gpu...) as
                a guest's 2D driver and the VMM's display would: one B8G8R8X8 resource on
                scanout 0, then frame after frame a full TRANSFER_TO_HOST_2D and RESOURCE_FLUSH,
                each frame counted once the display's UPDATE shows it (its number is stamped
                into the top-left pixel). Reports frames per second and the latencies of the
                transfer, the flush and the whole frame.

                Exit codes: 0 done, 1 the back end failed, refused a command or stalled, 2 usage
                error.

                """,
        };
        Option[] options = [socket, width, height, runtime, ramp, json];
        Array.ForEach(options, command.Add);
        CommandLine.Require(command, socket);
        command.SetAction(result => Run(
            new GpuFrameOptions
            {
                SocketPath = result.GetRequiredValue(socket),
                Width = (uint)(result.GetValue(width) ?? 1280),
                Height = (uint)(result.GetValue(height) ?? 800),
                Runtime = TimeSpan.FromSeconds(result.GetValue(runtime) ?? 5),
                RampTime = TimeSpan.FromSeconds(result.GetValue(ramp) ?? 1),
            },
            result.GetValue(json)));
        return command;
    }

    private static int Run(GpuFrameOptions options, bool json)
    {
        GpuFrameResult result;
        try
        {
            result = GpuFrameBench.Run(options);
        }
        catch (Exception e) when (e is IOException or TimeoutException or InvalidOperationException or System.ComponentModel.Win32Exception or IoVirt.VhostUser.VhostUserProtocolException)
        {
            Console.Error.WriteLine($"iovirt bench-gpu: {e.Message}");
            return 1;
        }

        Console.Out.WriteLine(json ? result.ToJson() : string.Create(CultureInfo.InvariantCulture,
            $"{options.Width}x{options.Height}: {result.FramesPerSecond:F1} frames/s ({result.Frames} in {result.Seconds:F1} s), " +
            $"us p50/p99 transfer {result.Transfer(50):F0}/{result.Transfer(99):F0} flush {result.Flush(50):F0}/{result.Flush(99):F0} frame {result.Frame(50):F0}/{result.Frame(99):F0}"));
        return 0;
    }
}
