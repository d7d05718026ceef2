//! Routes with their paths kept: [`Routes`] is put together like axum's `Router` (`route`,
//! `merge`), and [`RouteTable`] matches a request's path against the same patterns as axum's
//! router does (the same `matchit`), so the front layer knows a request's route, and the
//! credential it needs, before the router runs (`router.rs` says why).

use axum::Router;
use axum::routing::MethodRouter;

use crate::app::AppState;
use crate::auth::layer::Surface;

/// The route of requests that matched none.
pub const UNMATCHED: &str = "<unmatched>";

/// Routes being put together, with their paths kept for the [`RouteTable`]. Used like axum's
/// `Router` (`route`, `merge`).
pub struct Routes {
    router: Router<AppState>,
    paths: Vec<&'static str>,
}

impl Routes {
    pub fn new() -> Self {
        Routes {
            router: Router::new(),
            paths: Vec::new(),
        }
    }

    pub fn route(mut self, path: &'static str, method_router: MethodRouter<AppState>) -> Self {
        self.router = self.router.route(path, method_router);
        self.paths.push(path);
        self
    }

    /// The router, its paths no longer needed.
    pub fn into_router(self) -> Router<AppState> {
        self.router
    }

    /// Each route's pattern, in the order they were added.
    pub fn paths(&self) -> &[&'static str] {
        &self.paths
    }

    pub fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.paths.extend(other.paths);
        self
    }

    /// Change the router (add a layer to these routes, say); the paths stay.
    pub fn map(mut self, f: impl FnOnce(Router<AppState>) -> Router<AppState>) -> Self {
        self.router = f(self.router);
        self
    }
}

impl Default for Routes {
    fn default() -> Self {
        Self::new()
    }
}

/// What the front layer knows of a request before the router runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Known {
    /// The route's pattern (`/api/sessions/{id}`), or [`UNMATCHED`].
    pub route: &'static str,
    /// The credential it needs (`None`: open to everyone).
    pub surface: Option<Surface>,
}

/// Every route's pattern, matched as axum's router matches them.
#[derive(Default)]
pub struct RouteTable {
    routes: matchit::Router<Known>,
}

impl RouteTable {
    /// Add every route of `routes`, each needing `surface`.
    pub fn add(&mut self, routes: &Routes, surface: Option<Surface>) {
        for &route in &routes.paths {
            self.insert(route, surface);
        }
    }

    /// Add one route's pattern.
    pub fn insert(&mut self, route: &'static str, surface: Option<Surface>) {
        let known = Known { route, surface };
        // A pattern added twice (its methods added one by one) is the same route; one open
        // and guarded at once would be a mistake in the table.
        if let Err(e) = self.routes.insert(route, known) {
            let same = self.routes.at(route).is_ok_and(|m| *m.value == known);
            assert!(same, "route {route}: {e}");
        }
    }

    /// The route `path` goes to; paths no route matches go to the fallback, open to everyone.
    pub fn of(&self, path: &str) -> Known {
        match self.routes.at(path) {
            Ok(found) => *found.value,
            Err(_) => Known {
                route: UNMATCHED,
                surface: None,
            },
        }
    }
}
