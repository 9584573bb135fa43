/* The example task registry: the pure C tasks, then the MuJoCo ones
 * (registry_mujoco.c when MuJoCo is built, registry_nomujoco.c otherwise). */
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>

#include "gridworld.h"
#include "pendulum.h"
#include "task.h"

extern const task_info *const task_mujoco_list[];
extern const int task_mujoco_count;

#define REGISTRY_MAX 64

static const task_info *const builtin_tasks[] = {&task_gridworld, &task_pendulum};
#define BUILTIN_COUNT ((int)(sizeof builtin_tasks / sizeof builtin_tasks[0]))

/* Filled once (the MuJoCo list lives in another translation unit, so the
 * combined array cannot be a constant initializer). */
static const task_info *all_tasks[REGISTRY_MAX + 1];
static int all_count;
static atomic_int all_state; /* 0: empty, 1: being filled, 2: ready */

static void registry_fill(void)
{
    int n = 0;
    for (int i = 0; i < BUILTIN_COUNT && n < REGISTRY_MAX; i++)
        all_tasks[n++] = builtin_tasks[i];
    for (int i = 0; i < task_mujoco_count && n < REGISTRY_MAX; i++)
        if (task_mujoco_list[i])
            all_tasks[n++] = task_mujoco_list[i];
    all_tasks[n] = NULL;
    all_count = n;
}

static void registry_init(void)
{
    if (atomic_load_explicit(&all_state, memory_order_acquire) == 2)
        return;
    int expected = 0;
    if (atomic_compare_exchange_strong(&all_state, &expected, 1)) {
        registry_fill();
        atomic_store_explicit(&all_state, 2, memory_order_release);
        return;
    }
    while (atomic_load_explicit(&all_state, memory_order_acquire) != 2) {
        /* another thread is filling 66 pointers: spin */
    }
}

const task_info *const *task_list(int *count)
{
    registry_init();
    if (count)
        *count = all_count;
    return all_tasks;
}

const task_info *task_find(const char *name)
{
    if (!name)
        return NULL;
    int n;
    const task_info *const *list = task_list(&n);
    for (int i = 0; i < n; i++)
        if (list[i]->name && strcmp(list[i]->name, name) == 0)
            return list[i];
    return NULL;
}
