using BenchmarkDotNet.Running;

namespace IoVirt.Benchmarks;

/// <summary><c>dotnet run -c Release --project bench/IoVirt.Benchmarks -- --filter '*'</c>; see bench/README.md.</summary>
internal static class Program
{
    private static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
