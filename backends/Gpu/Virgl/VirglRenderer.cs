using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using IoVirt.Interop;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace IoVirt.Backends.Gpu.Virgl;

/// <summary>
/// The process's one virglrenderer, headless: its own EGL context, surfaceless, on GLES, on
/// whatever GPU Mesa finds (llvmpipe where there is none). The library keeps global state and
/// binds its GL context to the thread that initialised it, so one thread owns it and every call
/// runs there through <see cref="Invoke"/>.
/// </summary>
public sealed unsafe class VirglRenderer
{
    private static readonly Lock SharedLock = new();
    private static VirglRenderer? _shared;
    private static uint _retired;

    private readonly BlockingCollection<Job> _jobs = [];
    private readonly Thread _thread;
    private readonly int _pollFd;
    private uint _lastFence;
    private object? _owner;

    [ThreadStatic]
    private static Job? _threadJob;

    private VirglRenderer()
    {
        var started = new TaskCompletionSource<int>();
        _thread = SelfNamedThread.Create("virglrenderer", () => Run(started));
        _thread.Start();
        _pollFd = started.Task.GetAwaiter().GetResult();
    }

    /// <summary>The process's renderer, started on first use; throws <see cref="InvalidOperationException"/> with the reason when it cannot start.</summary>
    public static VirglRenderer Shared
    {
        get
        {
            lock (SharedLock)
            {
                return _shared ??= new VirglRenderer();
            }
        }
    }

    /// <summary>
    /// Makes <paramref name="owner"/> the renderer's one guest until <see cref="Release"/>. Guests'
    /// resource ids are written inside their command streams, where they cannot be remapped, so
    /// two guests in one renderer would name each other's resources; each guest gets a process.
    /// </summary>
    public void Claim(object owner)
    {
        if (Interlocked.CompareExchange(ref _owner, owner, null) is { } other && other != owner)
        {
            throw new InvalidOperationException("virglrenderer already serves a guest in this process: run one iovirt gpu --virgl per guest");
        }
    }

    public void Release(object owner) => Interlocked.CompareExchange(ref _owner, null, owner);

    /// <summary>Runs <paramref name="work"/> on the renderer's thread and waits for it; its exception comes back here.</summary>
    public void Invoke(Action work)
    {
        if (Thread.CurrentThread == _thread)
        {
            work();
            return;
        }

        var job = _threadJob ??= new Job();
        job.Work = work;
        job.Error = null;
        job.Done.Reset();
        _jobs.Add(job);
        job.Done.Wait();
        job.Work = null;
        if (job.Error is { } error)
        {
            ExceptionDispatchInfo.Throw(error);
        }
    }

    /// <summary>
    /// On the renderer's thread: queues a fence behind everything submitted so far and waits until
    /// the GPU retires it; false when it has not within <paramref name="timeout"/> (a guest's
    /// endless shader) or the fence could not be made.
    /// </summary>
    internal bool Fence(TimeSpan timeout)
    {
        var id = unchecked(++_lastFence);
        if (VirglNative.CreateFence(unchecked((int)id), 0) != 0)
        {
            return false;
        }

        var deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (true)
        {
            VirglNative.Poll();

            // Fences retire in order and the library reports only the newest (merged), so
            // "retired" is every id up to the last one written.
            if (unchecked((int)(Volatile.Read(ref _retired) - id)) >= 0)
            {
                return true;
            }

            var left = deadline - Environment.TickCount64;
            if (left <= 0)
            {
                return false;
            }

            WaitForSync((int)Math.Min(left, 5));
        }
    }

    private void WaitForSync(int timeoutMs)
    {
        if (_pollFd < 0)
        {
            Thread.Sleep(0); // no sync thread: the library checks its fences on each poll
            return;
        }

        var entry = new pollfd { fd = _pollFd, events = POLLIN };
        _ = poll(&entry, 1, timeoutMs);
    }

    private void Run(TaskCompletionSource<int> started)
    {
        try
        {
            if (!NativeLibrary.TryLoad(VirglNative.Library, typeof(VirglRenderer).Assembly, null, out _))
            {
                throw new InvalidOperationException($"3D needs {VirglNative.Library} (Debian package libvirglrenderer1), which is not installed");
            }

            var callbacks = new VirglNative.Callbacks { Version = 2, WriteFence = &WriteFence };

            // virglrenderer refuses a null cookie; it is only handed back to the callbacks.
            var status = VirglNative.Init(1, VirglNative.UseEgl | VirglNative.UseSurfaceless | VirglNative.UseGles | VirglNative.ThreadSync, &callbacks);
            if (status != 0)
            {
                throw new InvalidOperationException($"virglrenderer did not start (virgl_renderer_init: {status}): no EGL/GLES driver (Mesa's libegl-mesa0 and libgl1-mesa-dri provide llvmpipe)");
            }

            started.SetResult(VirglNative.GetPollFd());
        }
        catch (Exception e)
        {
            started.SetException(e);
            return;
        }

        foreach (var job in _jobs.GetConsumingEnumerable())
        {
            try
            {
                job.Work!();
            }
            catch (Exception e)
            {
                job.Error = e;
            }

            job.Done.Set();
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void WriteFence(nint _, uint fence) => Volatile.Write(ref _retired, fence);

    private sealed class Job
    {
        public Action? Work;
        public Exception? Error;
        public readonly ManualResetEventSlim Done = new();
    }
}
