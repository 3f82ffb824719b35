/* prog_cxx - an ordinary C++ program (containers, strings, iostream) for
 * the transparency test: same output and exit status with and without
 * memtap; known.sh also checks that its C++ frames are demangled
 * (shapes::Grid::build(int) news 100 vectors of 24 bytes). */
#include <iostream>
#include <map>
#include <string>
#include <vector>

namespace shapes {
struct Grid {
    __attribute__((noinline)) static long build(int cells)
    {
        long sum = 0;
        for (int i = 0; i < 100; i++) {
            std::vector<int> *row = new std::vector<int>(cells, i);
            sum += (*row)[cells - 1];
            delete row;
        }
        return sum;
    }
};
} // namespace shapes

int main(int argc, char **argv)
{
    std::map<std::string, std::vector<int>> m;
    for (int i = 0; i < 20000; i++)
        m["key" + std::to_string(i % 997)].push_back(i);
    long sum = 0;
    for (auto &kv : m)
        for (int v : kv.second)
            sum += v * (long)kv.first.size();
    sum += shapes::Grid::build(100);
    std::cout << "entries=" << m.size() << " sum=" << sum << std::endl;
    std::cerr << "to stderr: " << argc << std::endl;
    return argc > 1 ? 7 : 0;
}
